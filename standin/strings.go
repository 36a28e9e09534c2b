package standin

// User-facing texts of the stand-in's API answers. The page's own texts are in page.html.
const (
	msgBadJSON        = "请求格式不对：%v"
	msgNoUser         = "请先选择“我是”谁"
	msgUnknownUser    = "没有这个人：%s"
	msgUnknownChat    = "没有这个群：%s"
	msgEmptyText      = "消息不能为空"
	msgTooLong        = "消息太长了（最多 %d 字节）"
	msgNeedJSON       = "请用 Content-Type: application/json 发送"
	msgSealFailed     = "消息加密失败：%v"
	msgUnreachable    = "连不上机器人（%s）：%v"
	msgRejected       = "机器人拒绝了消息（HTTP %d）"
	msgRejectedSig    = "多半是签名对不上：本页和机器人用的 Token / EncodingAESKey 不一致"
	msgBadReply       = "机器人的回复无法验签或解密：%v"
	msgSlow           = "机器人用了 %.1f 秒才回复；真实的企业微信只等 5 秒，超时会重发同一条消息"
	msgUnfinished     = "机器人的流式回复一直没有结束（已轮询 %d 次）"
	msgSingleChatName = "单聊"
	msgPushFile       = "[文件] media_id=%s"
	msgPushVoice      = "[语音] media_id=%s"
	msgPushImageBad   = "[图片] 无法显示（base64 无效）"
	msgPushCard       = "[模板卡片] %s"
	msgPushUnknown    = "[%s 消息]"
	msgPushBadJSON    = "[无法解析的推送] %s"
)
