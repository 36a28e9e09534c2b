package storage

import (
	"strconv"
	"time"

	"huanjie/campaign"
)

// keys builds the Redis key names of one prefix. The key schema:
//
// Every key starts with the store's prefix P (given to NewRedis, "" in production;
// tests use a random one so they can share a Redis). All keys of one street carry the
// hash tag {street}, so they live in one Cluster slot and the multi-key Lua scripts
// below are legal in Redis Cluster. <c> is a community, <item> a campaign.Item, <uid>
// a WeCom userid. JSON is encoding/json of the named campaign type.
//
//	KEY                             TYPE    CONTENT
//	P{st}:cur:<c>                   HASH    item → compact Filing JSON (typed value, by, at; no
//	                                        long text, no raw message): the current value of each
//	                                        item; review:<item>@<stamp> → Review JSON: the
//	                                        office's decision on that version of item; and
//	                                        exempt:<item> → Exemption JSON: the office excused
//	                                        the community from item (免报; Exempt/Unexempt, one
//	                                        Lua step each, bump seq/changed like a filing)
//	P{st}:hist:<c>:<item>           LIST    compact Filing JSON, newest first; head = cur[item];
//	                                        LTRIM to Limits.History (the long texts of the
//	                                        versions trimmed away leave P{st}:text:<c> with them)
//	P{st}:text:<c>                  HASH    <item>@<stamp> → the long text of that version (the
//	                                        summary), kept apart so reading state never reads it
//	P{st}:undo:<c>                  LIST    "<item>\n<Filing JSON>", newest first; one entry per
//	                                        Save (the JSON is byte-identical to the history
//	                                        element, so Undo removes exactly that filing);
//	                                        LTRIM to Limits.Undo (< History, so the value an
//	                                        undo goes back to is still in the history)
//	P{st}:undone:<token>            STRING  "<undone Filing JSON>\n<new head JSON or empty>", EX 1 day:
//	                                        the undo a message (token = its msgid) did, so the
//	                                        same message undoing again takes back nothing more
//	P{st}:once:<version>            STRING  "<token>\n<answer>[\x1e<office notice owed>]", EX 1 day:
//	                                        the filing of that version (a message's,
//	                                        "msg:<msgid>") was saved or held for 「确认」, so the
//	                                        same message handled again files and holds nothing,
//	                                        whatever was filed or undone in between
//	P{st}:noticed:<version>         STRING  "1", EX 1 day: the office's notice about that version
//	                                        (a refiling of a reviewed one) is queued, so the
//	                                        same message handled again queues it only if not
//	P{st}:seq                       STRING  counter, INCR by every change of a community's record
//	P{st}:changed                   ZSET    community scored by the seq of its last change
//	                                        (filing, review, undo, photo, exemption): Records reads again
//	                                        only the communities scored above its snapshot's seq
//	P{st}:log                       STREAM  audit trail, one entry per event; beyond the newest
//	                                        Limits.Audit, the oldest are moved to an archive
//	                                        file (ArchiveEvents), never simply trimmed:
//	                                        action  file | review | undo | request | bind |
//	                                                exempt | unexempt | away | back
//	                                        community, item, by, at (RFC 3339, UTC)
//	                                        raw      the text that was sent (file, review)
//	                                        filing   Filing JSON (file: saved; undo: taken back)
//	                                        review   Review JSON (review)
//	                                        code     binding request code (request, bind)
//	                                        binding  Binding JSON (request: asked; bind: approved)
//	                                        exemption  Exemption JSON (exempt; "" for unexempt)
//	                                        userid, away  Away JSON (away; "" for back)
//	P{st}:confirm:<uid>             STRING  Confirmation JSON: what uid was asked to 「确认」 (a
//	                                        held filing, an undo); expires by the bot's clock
//	P{st}:bind                      HASH    uid → Binding JSON (approved bindings)
//	P{st}:bindreq                   HASH    code → {"binding":…,"requested_at":ms,"expires_at":ms}
//	P{st}:bindreq:user              HASH    uid → code of the user's pending request
//	P{st}:bindreq:exp               ZSET    code scored by expires_at (unix ms); expired codes
//	                                        are purged by the next RequestBinding of the street
//	P{st}:away                      HASH    uid → Away JSON {userid, name, from, until, by, at}:
//	                                        the person's leave (请假; SetAway/ClearAway, one Lua
//	                                        step each, logged as away | back); a past leave stays
//	                                        until replaced. It changes whom nudges @-mention,
//	                                        not a judgement, so it does not touch seq/changed
//	P{st}:photos:<c>                LIST    Photo JSON in the order received, oldest first
//	                                        (storage.Photo; "hash" is the content's sha256);
//	                                        PhotoList numbers them from 1
//	P{st}:photodel:<c>:<hash>       STRING  Photo JSON of the photo DeletePhotoHash removed, PX
//	                                        10 min: the same call re-sent after a stall answers
//	                                        what the first run did
//	Pmsg:<id>                       HASH    the ledger of one WeCom msgid (Dedup), PEXPIRE ttl:
//	                                        state      processing | done
//	                                        owner      the attempt holding it (processing)
//	                                        until      unix ms when the hold lapses (processing)
//	                                        answer     the answer given (done)
//	                                        delivered  stream | url: the late path that took
//	                                                   the answer out first
//	                                        (a STRING "1" of the older SET NX format reads
//	                                        as done)
//
// The outbox (RedisOutbox, outbox_redis.go). <id> is an OutMsg.ID, "%013d-%08x-%08x" of
// the unix ms of Created, a per-process counter and random bits, so ids sort in queue
// order; <chat> a group chatid; <occ> an Occurrence.ID. Times are unix ms.
//
//	P{st}:out:q                     ZSET    message id scored by due time: Created, then
//	                                        now+lease while claimed, or the Retry time
//	P{st}:out:msg                   HASH    message id → OutMsg JSON (same members as out:q)
//	P{st}:out:order                 ZSET    "<chat>\n<id>", all score 0: per group, the queued
//	                                        ids in queue order; Claim hands out a group's
//	                                        message only after every earlier one of its group
//	                                        was acknowledged or failed (per-group FIFO)
//	Pout:due                        ZSET    street → the earliest time its outbox may have a
//	                                        message due (unix ms): the deliverers' one due-queue
//	                                        for all streets (storage/due.go); a hint, repaired
//	                                        by a periodic sweep
//	P{st}:out:sent                  LIST    OutMsg JSON with Done, newest first, LTRIM 200
//	P{st}:out:failed                LIST    OutMsg JSON with Done and LastError, newest first,
//	                                        LTRIM 200
//	P{st}:out:slot:<bucket>:<per>   ZSET    one unique member per send scored by its time: the
//	                                        sliding rate-limit window of TakeSlots for a bucket
//	                                        (<chat> for its webhook, <chat>#bot for the bot's
//	                                        pushes and replies) and a window of <per> ms;
//	                                        PEXPIRE per
//	P{st}:occ:<occ>                 STRING  "<Occurrence JSON>\n<nonce of the call>", SET NX PX 120
//	                                        days: the guard that queues an occurrence once
//	                                        (EnqueueOnce; the nonce tells the call's own copy
//	                                        re-sent after a stall from another replica's call)
//	P{st}:out:enq:<sha1>            STRING  "1", PX 1 day: the Enqueue call whose messages' JSON
//	                                        hash to <sha1> ran; its copy re-sent by go-redis after
//	                                        a stall queues nothing again (the messages may have
//	                                        gone out meanwhile)
//	P{st}:occs                      LIST    Occurrence JSON, newest first, LTRIM 500
//	P{st}:paused                    STRING  {"by":…,"at":…} while the street's reminders are
//	                                        paused (暂停提醒): Claim holds its scheduled
//	                                        reminders; deleted by 恢复提醒
//
// Enqueue/EnqueueOnce, Claim, Ack/Retry/Fail, Split and TakeSlots are each one Lua script;
// Ack, Retry and Fail compare-and-set the message JSON they read just before, and retry.
//
// Codes are 4 decimal digits, unique among the street's unexpired requests. Expiry is
// judged by the bot's clock (Redis.now), not by Redis TTLs, so it behaves the same on
// the embedded store. Save, Undo, RequestBinding and ApproveBinding are each one Lua
// script (Undo and ApproveBinding compare-and-set what they read just before, and retry).
//
// The photo records (Photos, photos_redis.go): AddPhoto is one Lua script that refuses a
// photo whose hash is held (ErrDuplicatePhoto, checked first) or a list already at max
// (ErrPhotosFull), else RPUSHes; DeletePhoto is one Lua script that LSETs the n-th element
// to a marker and LREMs it, so the photos after it move up. The files themselves live in
// the archive folder (package photos), not in Redis.
type keys struct{ prefix string }

func (k keys) street(st string) string { return k.prefix + "{" + st + "}" }

func (k keys) cur(st, community string) string { return k.street(st) + ":cur:" + community }

func (k keys) hist(st, community string, item campaign.Item) string {
	return k.street(st) + ":hist:" + community + ":" + string(item)
}

func (k keys) undo(st, community string) string  { return k.street(st) + ":undo:" + community }
func (k keys) text(st, community string) string  { return k.street(st) + ":text:" + community }
func (k keys) seq(st string) string              { return k.street(st) + ":seq" }
func (k keys) changed(st string) string          { return k.street(st) + ":changed" }
func (k keys) confirm(st, uid string) string     { return k.street(st) + ":confirm:" + uid }
func (k keys) undone(st, token string) string    { return k.street(st) + ":undone:" + token }
func (k keys) once(st, version string) string    { return k.street(st) + ":once:" + version }
func (k keys) noticed(st, version string) string { return k.street(st) + ":noticed:" + version }
func (k keys) log(st string) string              { return k.street(st) + ":log" }
func (k keys) bind(st string) string             { return k.street(st) + ":bind" }
func (k keys) bindreq(st string) string          { return k.street(st) + ":bindreq" }
func (k keys) bindreqUser(st string) string      { return k.street(st) + ":bindreq:user" }
func (k keys) bindreqExp(st string) string       { return k.street(st) + ":bindreq:exp" }
func (k keys) msg(id string) string              { return k.prefix + "msg:" + id }

func (k keys) outQ(st string) string      { return k.street(st) + ":out:q" }
func (k keys) outDue() string             { return k.prefix + "out:due" }
func (k keys) outMsg(st string) string    { return k.street(st) + ":out:msg" }
func (k keys) outOrder(st string) string  { return k.street(st) + ":out:order" }
func (k keys) outSent(st string) string   { return k.street(st) + ":out:sent" }
func (k keys) outFailed(st string) string { return k.street(st) + ":out:failed" }
func (k keys) outSlot(st, bucket string, per time.Duration) string {
	return k.street(st) + ":out:slot:" + bucket + ":" + strconv.FormatInt(per.Milliseconds(), 10)
}
func (k keys) occ(st, id string) string { return k.street(st) + ":occ:" + id }
func (k keys) occs(st string) string    { return k.street(st) + ":occs" }
func (k keys) paused(st string) string  { return k.street(st) + ":paused" }

func (k keys) away(st string) string { return k.street(st) + ":away" }

func (k keys) photos(st, community string) string { return k.street(st) + ":photos:" + community }

func (k keys) photoDeleted(st, community, hash string) string {
	return k.street(st) + ":photodel:" + community + ":" + hash
}

func (k keys) outEnq(st, token string) string { return k.street(st) + ":out:enq:" + token }
