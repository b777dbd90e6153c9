package api

// NodeStatus is one node of an executor: its capacity and what GoDocker's
// running and suspended jobs placed there hold of it.
type NodeStatus struct {
	Executor   string            `json:"executor"`
	Name       string            `json:"name"`
	CPUs       int               `json:"cpus"`
	Memory     int64             `json:"memory"` // bytes
	GPUs       int               `json:"gpus,omitempty"`
	UsedCPUs   int               `json:"used_cpus"`
	UsedMemory int64             `json:"used_memory"`
	UsedGPUs   int               `json:"used_gpus,omitempty"`
	Jobs       int               `json:"jobs"` // running or suspended jobs on it
	Labels     map[string]string `json:"labels,omitempty"`
}

// AsUserHeader names the user a root caller acts as: the server then
// grants exactly that user's rights (the SSH gateway serves gtop to users
// this way). It is honoured for root only, whom the kernel names on the
// unix socket; anyone else sending it is refused.
const AsUserHeader = "X-GoDocker-As-User"

// Output streams.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Output is a piece of a job's stdout or stderr file (gtop's live tail).
type Output struct {
	Stream string `json:"stream"` // stdout or stderr
	// Offset is where Data starts in the file; Size is the file's size
	// when it was read. The next piece starts at Offset+len(Data).
	Offset int64  `json:"offset"`
	Size   int64  `json:"size"`
	Data   []byte `json:"data"`
}
