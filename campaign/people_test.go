package campaign

import (
	"slices"
	"testing"
)

// TestPeopleOfBindings: the people of a street are the configured ones, then those
// bound in chat; one street's PeopleOf with bindings leaves the street's own lists, and
// every other PeopleOf, as they were.
func TestPeopleOfBindings(t *testing.T) {
	s := &Street{ID: "chengxi", Communities: []Community{{Name: "大辛"}, {Name: "太平"}},
		People: []Person{
			{UserID: "cuihong", Role: RoleSecretary, Community: "大辛"},
			{UserID: "quxin", Role: RoleLeader},
			{UserID: "zhaogang", Role: RoleLeader},
			{UserID: "sunli", Role: RoleLeader}, // three: the list has room for a fourth
			{UserID: "luolimei", Role: RoleOffice},
		}}
	s.Index()
	bound := s.PeopleOf([]Binding{
		{UserID: "lili01", Role: RoleSecretary, Community: "大辛"},
		{UserID: "wangfang", Role: RoleSecretary, Community: "太平"},
		{UserID: "lead2", Role: RoleLeader},
		{UserID: "off2", Role: RoleOffice},
		{UserID: "cuihong", Role: RoleLeader}, // configured: a binding never overrides
	})
	other := s.PeopleOf([]Binding{{UserID: "lead3", Role: RoleLeader}}) // must not write into bound's lists
	for _, tc := range []struct {
		what      string
		got, want []string
	}{
		{"大辛 with bindings", bound.Secretaries("大辛"), []string{"cuihong", "lili01"}},
		{"太平 with bindings", bound.Secretaries("太平"), []string{"wangfang"}},
		{"leaders with bindings", bound.Leaders(), []string{"quxin", "zhaogang", "sunli", "lead2"}},
		{"leaders with other bindings", other.Leaders(), []string{"quxin", "zhaogang", "sunli", "lead3"}},
		{"office with bindings", bound.Office(), []string{"luolimei", "off2"}},
		{"大辛 as configured", s.PeopleOf(nil).Secretaries("大辛"), []string{"cuihong"}},
		{"太平 as configured", s.PeopleOf(nil).Secretaries("太平"), nil},
		{"leaders as configured", s.PeopleOf(nil).Leaders(), []string{"quxin", "zhaogang", "sunli"}},
		{"office as configured", s.PeopleOf(nil).Office(), []string{"luolimei"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, tc.got, tc.want)
		}
	}
}
