package bot

// WeCom errcodes the bot meets, named for logs. Sources: WeCom's documents, and WeCom's
// own code and issue trackers where a document is silent.
const (
	ErrCodeFreqLimit      = 45009  // api freq out of limit: sending or subscribing too often
	ErrCodeInvalidWebhook = 93000  // webhook key invalid, or the robot was removed from the group
	ErrCodeInvalidChatID  = 93006  // invalid chatid (WeCom's bot plugin): wrong chatid, or a chat the bot was never spoken to in
	ErrCodeInvalidBotID   = 93019  // invalid bot_id (WeCom's own wecom-cli, issue 15)
	ErrCodeInvalidReqID   = 846605 // invalid req_id: a reply to an event, or to an unknown or too old callback (WeCom's bot plugin)
	ErrCodeStreamExpired  = 846608 // a stream updated more than 6 minutes after its first frame (WeCom's bot plugin)
	ErrCodeInvalidSecret  = 40001  // invalid secret (WeCom's global error codes)
)

var codeNames = map[int]string{
	ErrCodeFreqLimit:      "rate limited (too many messages or subscriptions)",
	ErrCodeInvalidWebhook: "webhook key invalid or robot removed from the group",
	ErrCodeInvalidChatID:  "invalid chatid (or nobody has spoken to the bot in that chat yet)",
	ErrCodeInvalidBotID:   "invalid bot_id",
	ErrCodeInvalidReqID:   "invalid req_id (reply to an event, or to an unknown or expired callback)",
	ErrCodeStreamExpired:  "stream expired (more than 6 minutes after its first frame)",
	ErrCodeInvalidSecret:  "invalid secret",
	ErrCodeInvalidMsgType: "invalid message type",
	ErrCodeInvalidParam:   "invalid parameter (e.g. content too long)",
	ErrCodeEmptyContent:   "empty content",
	ErrCodeMediaType:      "media type not accepted",
	ErrCodeFileSize:       "file too large or too small",
	ErrCodeInvalidMediaID: "invalid media_id",
	ErrCodeImageSize:      "image over 2 MB",
}

// CodeName names a WeCom errcode for a log line ("unknown" for codes the bot does not know).
func CodeName(code int) string {
	if n, ok := codeNames[code]; ok {
		return n
	}
	return "unknown"
}
