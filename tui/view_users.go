package tui

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/godocker/godocker/api"
)

// quotaEntry is the budget of an owner (api.KindUser or KindProject) in
// the current period, if one is set.
func (m *model) quotaEntry(kind, name string) (api.QuotaEntry, bool) {
	if m.quotas == nil {
		return api.QuotaEntry{}, false
	}
	for _, e := range m.quotas.Quotas {
		if e.Kind == kind && e.Name == name && e.Quota.Set() {
			return e, true
		}
	}
	return api.QuotaEntry{}, false
}

// quotaLeft says what is left of each budget of e: "cpu 987.6h, memory
// 19975.2G·h", "cpu spent".
func quotaLeft(e api.QuotaEntry) string {
	var parts []string
	add := func(name string, budget, used float64, format func(float64) string) {
		switch {
		case budget == 0:
		case used >= budget:
			parts = append(parts, name+" spent")
		default:
			parts = append(parts, name+" "+format(budget-used))
		}
	}
	add("cpu", e.Quota.CPUSeconds, e.Used.CPUSeconds, hours)
	add("memory", e.Quota.MemorySeconds, e.Used.MemorySeconds, gibHours)
	add("gpu", e.Quota.GPUSeconds, e.Used.GPUSeconds, hours)
	return strings.Join(parts, ", ")
}

// usageEntries is the usage of users or projects (kind), with a line too
// for each owner that has a quota and no usage yet, by name.
func (m *model) usageEntries(kind string) []api.UsageEntry {
	var entries []api.UsageEntry
	if m.usage != nil {
		entries = slices.Clone(m.usage.Users)
		if kind == api.KindProject {
			entries = slices.Clone(m.usage.Projects)
		}
	}
	if m.quotas != nil {
		for _, q := range m.quotas.Quotas {
			if q.Kind == kind && q.Quota.Set() && !slices.ContainsFunc(entries, func(e api.UsageEntry) bool { return e.Name == q.Name }) {
				entries = append(entries, api.UsageEntry{Name: q.Name, Priority: api.DefaultPriority})
			}
		}
	}
	slices.SortFunc(entries, func(a, b api.UsageEntry) int { return cmp.Compare(a.Name, b.Name) })
	return entries
}

// usageTable is the table of users or projects (kind); the caller's own
// user row is marked.
func (m *model) usageTable(kind string) []string {
	t := table{
		heads: []string{strings.ToUpper(kind), "PRIO", "SHARE", "CPU·H", "MEM·GH", "GPU·H", "RUN", "CPUS", "MEMORY", "QUOTA LEFT"},
		right: []bool{false, true, true, true, true, true, true, true, true, false},
		drop:  []int{5, 4, 8, 1, 7, 3},
	}
	entries := m.usageEntries(kind)
	if len(entries) == 0 {
		return []string{m.st.dim.Render("  no " + kind + " has used anything yet")}
	}
	for _, e := range entries {
		left := "-"
		if q, ok := m.quotaEntry(kind, e.Name); ok {
			left = quotaLeft(q) // numbers only
		}
		mark, name := "", safe(e.Name)
		if kind == api.KindUser && e.Name == m.me.User {
			mark, name = markMe, m.st.me.Render(name)
		}
		t.add(mark, name, strconv.Itoa(e.Priority), percent(e.Share),
			hours(e.Used.CPUSeconds), gibHours(e.Used.MemorySeconds), hours(e.Used.GPUSeconds),
			strconv.Itoa(e.Running), strconv.Itoa(e.CPUs), humanBytes(e.Memory), left)
	}
	return t.render(m.width, m.st.colHead.Render)
}

// usersView draws the usage and quotas of users and projects.
func (m *model) usersView(h int) []string {
	var head []string
	if m.usage != nil {
		window := "usage over the last " + roughDuration(time.Duration(m.usage.Window*float64(time.Second)))
		if m.usage.Window <= 0 {
			window = "usage since the start"
		}
		if m.usage.HalfLife > 0 {
			window += ", half-life " + roughDuration(time.Duration(m.usage.HalfLife*float64(time.Second)))
		}
		head = append(head, window)
	}
	if m.quotas != nil && !m.quotas.Resets.IsZero() {
		head = append(head, "quota period resets in "+roughDuration(m.quotas.Resets.Sub(m.now())))
	}
	title := joinFit(append([]string{m.st.label.Render("users and projects")}, head...), " · ", m.width)
	var body []string
	for _, e := range []error{m.usageErr, m.quotasErr} {
		if e != nil {
			body = append(body, m.st.errText.Render(fit(errorText(e), m.width)))
		}
	}
	if m.usage == nil && m.usageErr == nil {
		return []string{title, m.st.dim.Render("loading…")}
	}
	body = append(body, m.st.section.Render("Users"))
	body = append(body, m.usageTable(api.KindUser)...)
	body = append(body, "", m.st.section.Render("Projects"))
	body = append(body, m.usageTable(api.KindProject)...)
	return append([]string{title}, scrolled(body, m.scroll[viewUsers], h-1)...)
}
