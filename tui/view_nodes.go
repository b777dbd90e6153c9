package tui

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/godocker/godocker/api"
)

// nodeName is how gtop names a node: executor@node, as gstat's queue.
func nodeName(n *api.NodeStatus) string {
	if n.Executor == "" {
		return safe(n.Name)
	}
	return safe(n.Executor + "@" + n.Name)
}

// sortedNodes is the nodes by executor and name.
func sortedNodes(nodes []*api.NodeStatus) []*api.NodeStatus {
	out := slices.Clone(nodes)
	slices.SortFunc(out, func(a, b *api.NodeStatus) int {
		return cmp.Or(cmp.Compare(a.Executor, b.Executor), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// clusterUse is the sum of every node's capacity and use.
type clusterUse struct {
	cpus, usedCPUs, gpus, usedGPUs, jobs int
	memory, usedMemory                   int64
}

// sumNodes adds up the capacity and use of nodes.
func sumNodes(nodes []*api.NodeStatus) clusterUse {
	var u clusterUse
	for _, n := range nodes {
		u.cpus += n.CPUs
		u.usedCPUs += n.UsedCPUs
		u.memory += n.Memory
		u.usedMemory += n.UsedMemory
		u.gpus += n.GPUs
		u.usedGPUs += n.UsedGPUs
		u.jobs += n.Jobs
	}
	return u
}

// bar draws used of total as a bar w cells wide.
func (m *model) bar(used, total float64, w int) string {
	n := 0
	if total > 0 {
		n = min(int(used/total*float64(w)+0.5), w)
	}
	if used > 0 && n == 0 {
		n = 1 // something is used: show it
	}
	return m.st.used.Render(strings.Repeat(barUsed, n)) + m.st.free.Render(strings.Repeat(barFree, w-n))
}

// nodesView draws every node's capacity and use, with a total.
func (m *model) nodesView(h int) []string {
	title := m.st.label.Render("nodes")
	switch {
	case m.nodesErr != nil:
		return []string{title, m.st.errText.Render(fit("nodes: "+errorText(m.nodesErr), m.width))}
	case m.nodes == nil:
		return []string{title, m.st.dim.Render("loading…")}
	case len(m.nodes) == 0:
		return []string{title, m.st.dim.Render("no node: the executors report none")}
	}
	nodes := sortedNodes(m.nodes)
	sum := sumNodes(nodes)
	title = joinFit([]string{title, plural(len(nodes), "node"),
		fmt.Sprintf("%d/%d cpus used", sum.usedCPUs, sum.cpus),
		humanBytes(sum.usedMemory) + "/" + humanBytes(sum.memory) + " memory used"}, " · ", m.width)
	t := table{
		heads: []string{"NODE", "CPUS", "", "MEMORY", "", "GPUS", "FREE CPU", "FREE MEM", "FREE GPU", "JOBS", "LABELS"},
		right: []bool{false, true, false, true, false, true, true, true, true, true, false},
		drop:  []int{10, 2, 4, 8, 5, 7, 6, 9},
	}
	if m.width < wideWidth {
		t.drop = append([]int{2, 4}, t.drop...) // bars go first
	}
	gpus := func(used, total int) string {
		if total == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d", used, total)
	}
	freeGPUs := func(used, total int) string {
		if total == 0 {
			return "-"
		}
		return strconv.Itoa(total - used)
	}
	row := func(name string, n clusterUse, labels string) {
		t.add("", name,
			fmt.Sprintf("%d/%d", n.usedCPUs, n.cpus), m.bar(float64(n.usedCPUs), float64(n.cpus), barWidth),
			humanBytes(n.usedMemory)+"/"+humanBytes(n.memory), m.bar(float64(n.usedMemory), float64(n.memory), barWidth),
			gpus(n.usedGPUs, n.gpus),
			strconv.Itoa(n.cpus-n.usedCPUs), humanBytes(max(n.memory-n.usedMemory, 0)), freeGPUs(n.usedGPUs, n.gpus),
			strconv.Itoa(n.jobs), labels)
	}
	for _, n := range nodes {
		row(nodeName(n), sumNodes([]*api.NodeStatus{n}), labels(n.Labels))
	}
	if len(nodes) > 1 {
		row(m.st.label.Render("total"), sum, "")
	}
	lines := t.render(m.width, m.st.colHead.Render)
	return append([]string{title, lines[0]}, scrolled(lines[1:], m.scroll[viewNodes], h-2)...)
}

// plural says n things: 1 node, 2 nodes.
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}

// labels renders a node's labels sorted: k=v,k=v.
func labels(l map[string]string) string {
	keys := slices.Sorted(maps.Keys(l))
	for i, k := range keys {
		keys[i] = k + "=" + l[k]
	}
	return safe(strings.Join(keys, ","))
}

// scrolled is the page of lines h long from scroll (clamped).
func scrolled(lines []string, scroll, h int) []string {
	from := clampScroll(scroll, len(lines), h)
	return lines[from:min(from+max(h, 0), len(lines))]
}
