package reader

import (
	"fmt"
	"strings"
)

// Every Chinese sentence the readers produce lives here. They say what was not clear and
// how to write it instead; the caller adds what was understood.

func whyApprox(t string) string {
	return fmt.Sprintf("「%s」不是确切的数字，请写准确的数", t)
}

func whyRange(t string) string {
	return fmt.Sprintf("「%s」是一个范围，请写一个确切的数", t)
}

func whyLetters(t string) string {
	return fmt.Sprintf("「%s」里夹着字母，看不准是多少（字母 O、l 是不是 0、1？），请只用数字写", t)
}

func whyUnreadable(t string) string {
	return fmt.Sprintf("「%s」看不懂是多少，请写成阿拉伯数字，如 320", t)
}

func whyDotForm(t string) string {
	a, b, _ := strings.Cut(t, ".")
	return fmt.Sprintf("「%s」是日期（%s月%s日）还是数字？日期请写成「%s月%s日」", t, a, b, a, b)
}

func whyNoSuchDay(m, d int) string {
	if m < 1 || m > 12 {
		return fmt.Sprintf("没有%d月，请核对日期", m)
	}
	return fmt.Sprintf("%d月没有%d日，请核对日期", m, d)
}

func whyYear(y, campaign int) string {
	return fmt.Sprintf("年份「%04d」不对，本次换届在%d年，请核对日期", y, campaign)
}

func whyMonthOnly(t string) string {
	return fmt.Sprintf("「%s」没有写具体哪一天，请写成「7月6日」这样", t)
}

func whyWeekend(t string) string {
	return fmt.Sprintf("「%s」不是具体哪一天，请写成「7月6日」这样", t)
}

func whyWeekday(t string, a, b string) string {
	return fmt.Sprintf("「%s」是%s还是%s？请写具体日期，如「%s」", t, a, b, a)
}

func whyApproxDate(t string) string {
	return fmt.Sprintf("「%s」不是确切的日期，请写具体哪一天，如「7月6日」", t)
}

func whyWeekdayDisagrees(date, weekday, word string) string {
	return fmt.Sprintf("%s是%s，和「%s」对不上，是哪一天？请核对后只写一个日期，如「%s」", date, weekday, word, date)
}

func whyWordDisagrees(word, wordDay, day string) string {
	return fmt.Sprintf("「%s」是%s，和「%s」不是同一天，是哪一天？请只写一个日期", word, wordDay, day)
}

func whyDayOfMonth(t string, a, b string) string {
	return fmt.Sprintf("「%s」是%s还是%s？请写上月份", t, a, b)
}

// Community questions.

func questionOne(name string) string { return fmt.Sprintf("您是不是要找「%s」？", name) }

func questionSeveral(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "「" + n + "」"
	}
	return fmt.Sprintf("您说的是%s中的哪一个？", strings.Join(q, "、"))
}

// Problems with numbers that a slot cannot take.

func whyNegative(t string) string { return fmt.Sprintf("「%s」是负数，人数不能是负数", t) }

func whyHouseholds(t string) string { return fmt.Sprintf("「%s」是户数，这里要写人数", t) }

func whyTooLarge(t string, max int) string {
	return fmt.Sprintf("「%s」太大了（不会超过 %d），请核对", t, max)
}

func whyFraction(t string) string { return fmt.Sprintf("「%s」不是整数，人数要写整数", t) }

func whyPercent(t string) string { return fmt.Sprintf("「%s」是比例，请写人数", t) }

func whyTwice(label, a, b string) string {
	return fmt.Sprintf("%s写了两个数：「%s」和「%s」，请只写一个", label, a, b)
}

func whyUnplaced(t string) string {
	return fmt.Sprintf("不知道「%s」指的是什么，请在数字前写明", t)
}
