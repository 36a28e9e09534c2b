package main

import (
	"context"
	"time"

	"huanjie/bot"
	"huanjie/storage"
)

// msgLedger lets the bot's transports keep their message ledger in the store: bot
// declares what it needs (bot.MsgLedger), storage provides it (storage.Dedup), and
// neither imports the other.
type msgLedger struct{ s storage.Dedup }

var (
	_ bot.MsgLedger         = msgLedger{}
	_ bot.FirstAnswerLedger = msgLedger{}
)

func fromStore(r storage.MsgRecord) bot.MsgRecord {
	return bot.MsgRecord{Done: r.State == storage.MsgDone, Answer: r.Answer, Until: r.Until, Delivered: r.Delivered}
}

func (l msgLedger) Begin(ctx context.Context, id, owner string, lease, ttl time.Duration) (bot.MsgRecord, bool, error) {
	r, mine, err := l.s.BeginMsg(ctx, id, owner, lease, ttl)
	return fromStore(r), mine, err
}

func (l msgLedger) Finish(ctx context.Context, id, answer string, ttl time.Duration) error {
	return l.s.FinishMsg(ctx, id, answer, ttl)
}

func (l msgLedger) FinishFirst(ctx context.Context, id, answer string, ttl time.Duration) (string, bool, error) {
	return l.s.FinishFirstMsg(ctx, id, answer, ttl)
}

func (l msgLedger) Release(ctx context.Context, id, owner string) error {
	return l.s.ReleaseMsg(ctx, id, owner)
}

func (l msgLedger) Lookup(ctx context.Context, id string) (bot.MsgRecord, bool, error) {
	r, ok, err := l.s.Msg(ctx, id)
	return fromStore(r), ok, err
}

func (l msgLedger) MarkDelivered(ctx context.Context, id, via string) (string, error) {
	return l.s.MarkMsgDelivered(ctx, id, via)
}

func (l msgLedger) SettleDelivered(ctx context.Context, id, from, to string) (string, error) {
	return l.s.SettleMsgDelivered(ctx, id, from, to)
}
