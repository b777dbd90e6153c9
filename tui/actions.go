package tui

import (
	"fmt"
	"os/exec"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/godocker/godocker/api"
)

// confirmation is a y/n question and what y does.
type confirmation struct {
	prompt string
	yes    tea.Cmd
}

// sshPrompt is the ssh command of a job, shown by c.
type sshPrompt struct {
	ref     string
	command string // "" when there is none
	note    string
	canRun  bool // local, running, with a gateway: enter runs ssh here
}

// execDoneMsg is the end of an ssh run from gtop.
type execDoneMsg struct{ err error }

// askDelete asks whether to delete j (d).
func (m *model) askDelete(j *api.Job) {
	what := "job " + rowRef(j)
	if isArray(j) {
		what = "array " + j.Ref() + " (all its tasks)"
	}
	m.confirm = confirmation{
		prompt: fmt.Sprintf("delete %s (%s)? y/n", what, j.Name),
		yes:    deleteJob(m.ctx, m.src, jobRef(j)),
	}
	m.mode = modeConfirm
}

// suspendOrResume is s: a suspended job is resumed, any other is asked
// to suspend (the server refuses what its state does not allow).
func (m *model) suspendOrResume(j *api.Job) tea.Cmd {
	action := api.ControlSuspend
	if j.State == api.Suspended {
		action = api.ControlResume
	}
	return m.control(j, action)
}

// holdOrRelease is h: a held job is released, any other is asked to be
// held.
func (m *model) holdOrRelease(j *api.Job) tea.Cmd {
	action := api.ControlHold
	if j.State == api.Held {
		action = api.ControlRelease
	}
	return m.control(j, action)
}

// askRequeue is r: at once for a job that does not run; a running one is
// killed to go back to the queue, so gtop asks first.
func (m *model) askRequeue(j *api.Job) tea.Cmd {
	if !j.State.Active() {
		return m.control(j, api.ControlRequeue)
	}
	m.confirm = confirmation{
		prompt: fmt.Sprintf("requeue job %s (%s)? it is killed and waits again. y/n", j.Ref(), j.Name),
		yes:    controlJob(m.ctx, m.src, jobRef(j), api.ControlRequeue),
	}
	m.mode = modeConfirm
	return nil
}

// control sends action for j.
func (m *model) control(j *api.Job, action string) tea.Cmd {
	m.setStatus(fmt.Sprintf("job %s: %s…", jobRef(j), action))
	return controlJob(m.ctx, m.src, jobRef(j), action)
}

// actionDone reports the server's answer to an action: what it did, or
// its refusal, word for word.
func (m *model) actionDone(msg actionMsg) {
	if msg.err != nil {
		m.setError(fmt.Sprintf("job %s: %s", msg.ref, errorText(msg.err)))
		return
	}
	if msg.job != nil {
		m.apply(msg.job)
	}
	switch msg.verb {
	case "delete":
		if msg.del != nil && msg.del.Action == api.ActionRegistered {
			m.setStatus(fmt.Sprintf("job %s registered for deletion: its container is being killed", msg.ref))
		} else {
			m.setStatus(fmt.Sprintf("job %s deleted", msg.ref))
		}
	case api.ControlHold:
		m.setStatus(fmt.Sprintf("job %s held", msg.ref))
	case api.ControlRelease:
		m.setStatus(fmt.Sprintf("job %s released", msg.ref))
	case api.ControlSuspend:
		m.setStatus(fmt.Sprintf("job %s suspended", msg.ref))
	case api.ControlResume:
		m.setStatus(fmt.Sprintf("job %s resumed", msg.ref))
	case api.ControlRequeue:
		attempt := 0
		if msg.job != nil {
			attempt = msg.job.Attempt
			if msg.job.Requeue && msg.job.State.Active() {
				attempt++
			}
		}
		m.setStatus(fmt.Sprintf("job %s requeued (attempt %d)", msg.ref, attempt))
	}
}

// showSSH shows how to enter j through the SSH gateway (c).
func (m *model) showSSH(j *api.Job) {
	p := sshPrompt{ref: j.Ref(), command: m.info.SSHCommand(j.Ref())}
	switch {
	case p.command == "":
		p.note = "the server has no SSH gateway"
	case j.State.Finished():
		p.note = "the job has ended"
	case !j.Spec.Interactive:
		p.note = "a batch job: the gateway lets you in only where the site allows it"
	case j.State != api.Running:
		p.note = "once it runs"
	}
	p.canRun = !m.remote && p.command != "" && j.State == api.Running
	m.ssh = p
	m.mode = modeSSH
}

// runSSH runs the ssh command in gtop's terminal, and comes back when it
// ends.
func (m *model) runSSH() tea.Cmd {
	args := strings.Fields(m.ssh.command)
	if m.remote || len(args) == 0 {
		return nil
	}
	return tea.ExecProcess(exec.Command(args[0], args[1:]...), func(err error) tea.Msg { return execDoneMsg{err: err} })
}
