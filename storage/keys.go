package storage

import "huanjie/campaign"

// keys builds the Redis key names of one prefix. The key schema:
//
// Every key starts with the store's prefix P (given to NewRedis, "" in production;
// tests use a random one so they can share a Redis). All keys of one street carry the
// hash tag {street}, so they live in one Cluster slot and the multi-key Lua scripts
// below are legal in Redis Cluster. <c> is a community, <item> a campaign.Item, <uid>
// a WeCom userid. JSON is encoding/json of the named campaign type.
//
//	KEY                             TYPE    CONTENT
//	P{st}:cur:<c>                   HASH    item → Filing JSON: the current value of each item
//	P{st}:hist:<c>:<item>           LIST    Filing JSON, newest first; the head equals cur[item]
//	P{st}:undo:<c>                  LIST    "<item>\n<Filing JSON>", newest first; one entry per
//	                                        undoable Save (the JSON is byte-identical to the
//	                                        history element, so Undo removes exactly that filing
//	                                        even if a non-undoable review was saved on top)
//	P{st}:log                       STREAM  audit trail, one entry per event, never trimmed:
//	                                        action  file | review | undo | request | bind
//	                                        community, item, by, at (RFC 3339, UTC)
//	                                        raw      the text that was sent (file, review)
//	                                        filing   Filing JSON (file, review: saved; undo: taken back)
//	                                        code     binding request code (request, bind)
//	                                        binding  Binding JSON (request: asked; bind: approved)
//	P{st}:bind                      HASH    uid → Binding JSON (approved bindings)
//	P{st}:bindreq                   HASH    code → {"binding":…,"requested_at":ms,"expires_at":ms}
//	P{st}:bindreq:user              HASH    uid → code of the user's pending request
//	P{st}:bindreq:exp               ZSET    code scored by expires_at (unix ms); expired codes
//	                                        are purged by the next RequestBinding of the street
//	Pmsg:<id>                       STRING  "1", SET NX EX ttl (Dedup of WeCom msgids)
//
// Codes are 4 decimal digits, unique among the street's unexpired requests. Expiry is
// judged by the bot's clock (Redis.now), not by Redis TTLs, so it behaves the same on
// the embedded store. Save, Undo, RequestBinding and ApproveBinding are each one Lua
// script (Undo and ApproveBinding compare-and-set what they read just before, and retry).
type keys struct{ prefix string }

func (k keys) street(st string) string { return k.prefix + "{" + st + "}" }

func (k keys) cur(st, community string) string { return k.street(st) + ":cur:" + community }

func (k keys) hist(st, community string, item campaign.Item) string {
	return k.street(st) + ":hist:" + community + ":" + string(item)
}

func (k keys) undo(st, community string) string { return k.street(st) + ":undo:" + community }
func (k keys) log(st string) string             { return k.street(st) + ":log" }
func (k keys) bind(st string) string            { return k.street(st) + ":bind" }
func (k keys) bindreq(st string) string         { return k.street(st) + ":bindreq" }
func (k keys) bindreqUser(st string) string     { return k.street(st) + ":bindreq:user" }
func (k keys) bindreqExp(st string) string      { return k.street(st) + ":bindreq:exp" }
func (k keys) msg(id string) string             { return k.prefix + "msg:" + id }
