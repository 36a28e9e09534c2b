package bot

// What the bot itself says to people (the handlers' answers come from the handlers).
const (
	// msgBusy answers at once a message the bot has no room to start in time.
	msgBusy = "系统繁忙，请稍后再发。这条消息没有处理，也没有保存任何内容。"
	// msgWorking is the unfinished stream shown while a handler is still working.
	msgWorking = "正在处理，请稍候……"
	// msgHandlerFailed ends a message whose handler failed.
	msgHandlerFailed = "处理这条消息时出了问题。请稍后查看结果，必要时再发送一次。"
	// msgInterrupted ends a stream whose work was lost (the process that did it stopped).
	msgInterrupted = "这条消息的处理中断了，结果未知。请稍后查看，必要时再发送一次。"
	// msgSentSeparately ends a stream whose answer went out as a message of its own.
	msgSentSeparately = "处理完成，结果已另行发送。"
	// msgDone ends a stream whose handler had nothing to say.
	msgDone = "已处理。"
	// msgLookAbove is the text message that @-mentions everyone after a markdown push
	// (webhook markdown cannot mention @all).
	msgLookAbove = "请大家查看上面的消息。"
)
