package bot

import (
	"regexp"
	"strings"
)

// The bot's own messages (stream replies, response_url answers, aibot_send_msg pushes)
// are standard markdown: WeCom shows them with its markdown-v2 renderer, which has no
// <font color> and no <@userid>, and joins lines that are not separated by a blank line.
// Those two tags belong to the group webhook's "markdown" type only. ChatMarkdown makes
// webhook-flavoured text safe for the bot's own messages; webhook pushes keep theirs.

var (
	fontTag    = regexp.MustCompile(`(?is)<font\b[^>]*>(.*?)</font\s*>`)
	strayFont  = regexp.MustCompile(`(?i)</?font\b[^>]*>`)
	mentionTag = regexp.MustCompile(`<@([^<>\s]+)>`)
	listItem   = regexp.MustCompile(`^\s*([-*+]|\d+[.)])\s`)
)

// ChatMarkdown turns markdown written for the group webhook into what renders in a chat
// reply: <font …>text</font> becomes **text** (the text is kept, the colour dropped),
// <@userid> becomes @userid, and a single line break between two lines of text becomes
// a paragraph break, so lines are not run together. Lists, tables, quotes and code
// blocks keep their own line structure.
func ChatMarkdown(s string) string {
	if !strings.Contains(s, "<") {
		return paragraphs(s)
	}
	s = fontTag.ReplaceAllStringFunc(s, func(m string) string {
		inner := strings.TrimSpace(fontTag.FindStringSubmatch(m)[1])
		inner = strings.ReplaceAll(inner, "**", "")
		if inner == "" {
			return ""
		}
		return "**" + inner + "**"
	})
	s = strayFont.ReplaceAllString(s, "")
	s = mentionTag.ReplaceAllString(s, "@$1")
	return paragraphs(s)
}

// chatText is ChatMarkdown for a plain-text message (an enter_chat welcome): tags are
// dropped, their text kept, and line breaks are left alone.
func chatText(s string) string {
	s = fontTag.ReplaceAllString(s, "$1")
	s = strayFont.ReplaceAllString(s, "")
	return mentionTag.ReplaceAllString(s, "@$1")
}

// paragraphs separates consecutive lines of text by a blank line, outside code fences,
// except between list items and between table rows; consecutive quote lines get an empty
// quote line between them, and a quote followed by text is closed by a blank line.
func paragraphs(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	var b strings.Builder
	b.Grow(len(s) + len(lines))
	fenced := false
	for i, line := range lines {
		if i > 0 {
			b.WriteString(lineBreak(lines[i-1], line, fenced))
		}
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		b.WriteString(line)
	}
	return b.String()
}

// lineBreak is what goes between prev and next; fenced tells whether prev lies inside a
// code block (or opens one).
func lineBreak(prev, next string, fenced bool) string {
	p, n := strings.TrimSpace(prev), strings.TrimSpace(next)
	switch {
	case fenced, p == "", n == "", strings.HasPrefix(n, "```"):
		return "\n"
	case strings.HasPrefix(p, "|") && strings.HasPrefix(n, "|"):
		return "\n"
	case listItem.MatchString(next):
		return "\n"
	case strings.HasPrefix(p, ">") && strings.HasPrefix(n, ">"):
		return "\n>\n"
	}
	return "\n\n"
}
