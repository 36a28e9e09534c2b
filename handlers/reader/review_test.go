package reader

import "testing"

func TestReadReview(t *testing.T) {
	for _, tc := range []struct {
		in, community, item, reason string
		kind                        MatchKind
	}{
		{"退回 大辛 候选人年龄超过规定", "大辛", "", "候选人年龄超过规定", Exact},
		{"退回 大辛 候选人 年龄超过规定", "大辛", "candidates", "年龄超过规定", Exact},
		{"退回 大辛 候选人：年龄超过规定", "大辛", "candidates", "年龄超过规定", Exact},
		{"退回大辛候选人年龄超过规定", "大辛", "", "候选人年龄超过规定", Exact},
		{"驳回 大辛 候选人名单缺少理事", "大辛", "", "候选人名单缺少理事", Exact},
		{"退回 大辛 选举结果：理事会只有7人", "大辛", "election", "理事会只有7人", Exact},
		{"退回 大辛 选举", "大辛", "election", "", Exact},
		{"退回大辛，原因：秘书长人选不符合要求", "大辛", "", "秘书长人选不符合要求", Exact},
		{"打回 大辛 因为秘书长不是卫计主任", "大辛", "", "秘书长不是卫计主任", Exact},
		{"退回 大辛 原因不明", "大辛", "", "原因不明", Exact},
		{"大辛的选举结果退回，理事会人数不够", "大辛", "election", "理事会人数不够", Exact},
		{"初审通过 大辛", "大辛", "", "", Exact},
		{"您好，大辛社区的候选人名单初审通过了", "大辛", "candidates", "", Exact},
		{"初审通过 大新", "大辛", "", "", Close},
		{"退回 大新 候选人年龄超过规定", "大辛", "", "候选人年龄超过规定", Close},
		{"初审通过 城东", "", "", "", NoMatch},
		// A name inside a longer word, or two communities: asked back.
		{"初审通过 大辛庄", "大辛", "", "庄", Close},
		{"初审通过 老大辛", "大辛", "", "", Close},
		{"初审通过 大辛 太平", "", "", "", Several},
		{"初审通过 太平大辛", "", "", "", Several},
		{"退回一下大辛 候选人 年龄超过规定", "大辛", "candidates", "年龄超过规定", Exact},
		{"退回大辛副会长人选需调整", "大辛", "", "副会长人选需调整", Exact},
		{"龙泽园候选人初审通过", "龙泽园", "candidates", "", Exact},
		{"大辛和太平的候选人初审通过", "", "", "", Several},
		{"退回 大辛 无", "大辛", "", "", Exact},
		{"退回 大辛 候选人 同上", "大辛", "candidates", "", Exact},
		{"退回 大辛 候选人 和太平一样人选需调整", "大辛", "candidates", "和太平一样人选需调整", Exact},
		{"初审通过", "", "", "", NoMatch},
	} {
		cmd, ok := FindCommand(tc.in, officeWords)
		if !ok {
			t.Fatalf("no command in %q", tc.in)
		}
		rv := ReadReview(tc.in, cmd, fifteen, itemWords)
		if rv.Community.Kind != tc.kind || rv.Community.Name != tc.community || rv.Item != tc.item || rv.Reason != tc.reason {
			t.Errorf("ReadReview(%q) = %+v, want %s (%d) item %q reason %q", tc.in, rv, tc.community, tc.kind, tc.item, tc.reason)
		}
	}
}
