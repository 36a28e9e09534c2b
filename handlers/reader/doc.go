// Package reader understands what secretaries and the street office actually type — on
// phones, in sentences, with Chinese numerals, relative dates and voice transcriptions —
// and says plainly what it could not read with certainty, so that nothing is stored from
// a guess. It is pure: no I/O, no clock of its own, no knowledge of the campaign's items
// (the caller passes its words); it only uses campaign.Date.
//
// Every reader normalises its input first (Normalize) and reports positions as byte
// offsets in the normalised text.
//
// # What the readers return
//
//   - Numbers: each number with its value, sign, label before (会员, 人口 …), label after
//     (「320名会员」), unit, and a Status. Assign places them into a filing's slots by label,
//     in any order.
//   - Dates: each date with its day, kind, whether month and day were written (Explicit),
//     its Role in a range, and a Status.
//   - FindCommand: the command word anywhere in the sentence (leftmost, then longest).
//   - MatchCommunity / FindCommunities: configured names, exact or near (typos, homophones).
//   - ReadReview: community, explicit item and free-text reason of an office command.
//
// # What is Certain, what is asked back
//
// A value is Certain only when one reading is possible. The caller stores Certain values
// and asks back for anything else, saying what was understood and the one thing to add.
//
// Numbers. Arabic, full-width and Chinese numerals are read: 两, 十一, 一百二十, 三千二
// (= 3200: a digit after the last 百/千/万 is the next place down), 一千零五, 1千, 1.2万,
// 6千2百, 6,200 and digit by digit 二〇二一. A Chinese numeral counts only when it stands
// as a number: after a count label (「代表三十」), before a unit (「三个人」「四十名」), or,
// for two characters or more, followed by nothing Chinese or by a new clause (「人口六千二百
// 然后会员三百二」); so 第一, 五老, 两委, 四十亩地, 一起, 十分 are words, not numbers.
// Ambiguous: approximate numbers (约300, 大概, 近300, 三百多, 三百来人, 300左右, 二三十,
// 四五十, 十几), ranges (30-40, 9到11人) and a bare 「3.5」 with nothing to tell a date from
// a decimal. Negative numbers (「-5」, 「负5」) are reported with Negative set; a count slot
// refuses them, as it refuses fractions, percentages and a second, different value for the
// same slot. A number no slot takes and no label names is a Problem (「会员 320 6200」):
// the reader does not decide that 6200 is the population.
//
// Dates. Absolute: 2021-07-02, 2021.7.2, 2021/7/2, 2021年7月2日, 二〇二一年七月二日,
// 7月2日, 7月2号, 7月2, 七月六号, 7/2, 7-2, 7.2, 7.3号. Relative to Clock.Today: 今天,
// 明天, 后天, 大后天, 昨天, 前天, 大前天; 本周五/这周五 (this Monday-based week), 下周一,
// 上周五; 本月6号, 下个月2号, 上个月30号; ranges 7月2日-4日, 7月5日至7月7日, 7.2-7.4,
// 2-4号 (the second takes the first's month; the first gets Role Start).
//
//   - A dot form 「a.b」 is a number when a unit follows (3.5万, 3.5%) or a count label
//     precedes it (代表 3.5), and when it cannot be a date (13.5, 7.45); it is a date when a
//     date word precedes it (公示 7.2, 已参加 6.30, 从, 于, 日期, 时间 …), after a date and a
//     range sign (7.2-7.4), or when its day has two digits or a leading zero (7.10, 07.2:
//     nobody writes a count that way); otherwise (「3.5」 alone) it is Ambiguous.
//   - A bare weekday (周三, 星期三, 礼拜三) is the nearest one on or before today when the
//     sentence speaks of the past (已, 了, 过, 昨天, 上周, …开始的, a final 的), on or after
//     today when it speaks of the future (将, 准备, 计划, 定于, 明天, 下周, 开始 without 了/的),
//     today when today is that weekday, and otherwise Ambiguous (both candidates given).
//     Clock.Lean supplies a direction when the sentence has none; leave it Unknown unless
//     the command itself says which way.
//   - A bare day (2号, 6日, 六号) is in the direction the sentence points, the nearest such
//     day (培训 30号已参加 on 7月2日 → 6月30日); with no direction it is this month's day,
//     unless the same day of a neighbouring month is nearer (公示 30号 on 7月2日: Ambiguous).
//   - Invalid: no such day (2月30日, 7月32日, 13月1日) and a written year more than one
//     year from Clock.Year (0000-07-02, 9999-12-31, 2012-07-06).
//   - Ambiguous, never a day: a month alone or a part of it (7月, 7月份, 7月上旬, 7月底,
//     2021年7月, 月底, 本月底, 下个月初) and 周末; a day made approximate (7月8日左右,
//     7月8日前后, 大约7月8日).
//   - A day written twice over, side by side (今天7月5日, 7月8日周四, 7月8日（星期四）, 今天周一)
//     is one date: the calendar day's, when the word names the same day; Ambiguous when it
//     does not (今天7月8日 on 7月5日, 7月8日周五), both readings given. A date outside the campaign's windows, or a done thing dated in
//     the future, is Certain here: the caller, which knows the windows, asks back.
//
// Command words. FindCommand takes the vocabulary of the sender's role (so the office's
// 「大辛社区候选人名单初审通过」 finds 初审通过, not 候选人名单) and finds the word that
// starts first, the longest there: 会员代表 before 会员, 新任培训 before 培训, 会员代表大会
// before 会员代表. Traps lists the words of one key written inside another key's word —
// the lead's vocabulary test accepts each one explicitly; Misfires must be empty.
//
// Communities. MatchCommunity: Exact (社区/居委会 around the name ignored), Close (one
// name sounds the same — 大新/大辛, 李家瑶/李家窑, with z/zh, c/ch, s/sh, n/l, -n/-ng folded
// for voice input: 双三/双山 — or, for names of three characters or more, differs by one
// character: 西治街, 四十亩, 白虎), Several (as near as each other: ask which) or NoMatch.
// Two-character names never match by spelling alone (大成 is not 大辛). A Close match is
// always a question (「您是不是要找「大辛」？」), never an action. FindCommunities lists
// every name in a sentence so the caller can refuse another community's figures.
//
// Office commands. ReadReview takes the community, then an item word only when it stands
// as a word of its own (the whole remainder, followed by a space or punctuation, or before
// the command word); otherwise the words belong to the reason: 「退回 大辛 候选人年龄超过规定」
// has no item and the reason 「候选人年龄超过规定」, 「退回 大辛 候选人 年龄超过规定」 has
// the item candidates. 原因是/因为 before the reason is dropped.
package reader
