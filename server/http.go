package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/user"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/godocker/godocker/api"
	"github.com/godocker/godocker/store"
)

// maxBody caps a request body: a script of maxScriptBytes, JSON-escaped,
// plus the rest of the spec.
const maxBody = 8 << 20

// Handler is the REST API under /api/v1/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /api/v1/status", s.authed(s.status))
	mux.Handle("GET /api/v1/whoami", s.authed(s.whoami))
	mux.Handle("GET /api/v1/info", s.authed(s.info))
	mux.Handle("POST /api/v1/jobs", s.authed(s.postJob))
	mux.Handle("GET /api/v1/jobs", s.authed(s.listJobs))
	mux.Handle("GET /api/v1/jobs/{id}", s.authed(s.getJob))
	mux.Handle("DELETE /api/v1/jobs/{id}", s.authed(s.deleteJob))
	mux.Handle("PATCH /api/v1/jobs/{id}", s.authed(s.patchJob))
	mux.Handle("POST /api/v1/jobs/{id}/{action}", s.authed(s.postControl))
	mux.Handle("GET /api/v1/jobs/{id}/output", s.authed(s.getOutput))
	mux.Handle("GET /api/v1/nodes", s.authed(s.getNodes))
	mux.Handle("GET /api/v1/events", s.authed(s.events))
	mux.Handle("GET /api/v1/maintenance", s.authed(s.getMaintenance))
	mux.Handle("PUT /api/v1/maintenance", s.authed(s.putMaintenance))
	mux.Handle("GET /api/v1/projects", s.authed(s.listProjects))
	mux.Handle("POST /api/v1/projects", s.authed(s.postProject))
	mux.Handle("GET /api/v1/projects/{name}", s.authed(s.getProject))
	mux.Handle("PUT /api/v1/projects/{name}", s.authed(s.putProject))
	mux.Handle("DELETE /api/v1/projects/{name}", s.authed(s.deleteProject))
	mux.Handle("GET /api/v1/accounts", s.authed(s.listAccounts))
	mux.Handle("GET /api/v1/accounts/{user}", s.authed(s.getAccount))
	mux.Handle("PUT /api/v1/accounts/{user}", s.authed(s.putAccount))
	mux.Handle("GET /api/v1/usage", s.authed(s.getUsage))
	mux.Handle("GET /api/v1/quotas", s.authed(s.getQuotas))
	mux.Handle("GET /api/v1/keys", s.authed(s.listKeys))
	mux.Handle("POST /api/v1/keys", s.authed(s.postKey))
	mux.Handle("DELETE /api/v1/keys", s.authed(s.deleteKey))
	return mux
}

type handler func(w http.ResponseWriter, r *http.Request, c *caller) error

// authed resolves the caller from the connection's peer credentials and
// turns the handler's error into the API's error answer.
func (s *Server) authed(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.callerOf(r)
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) callerOf(r *http.Request) (*caller, error) {
	if c, ok := r.Context().Value(callerKey).(*caller); ok {
		return c, nil
	}
	p, ok := r.Context().Value(peerKey).(peer)
	if !ok {
		return nil, api.Denied("the caller cannot be identified: connect through the unix socket")
	}
	if p.err != nil {
		return nil, api.Denied("the caller cannot be identified: " + p.err.Error())
	}
	if as := r.Header.Get(api.AsUserHeader); as != "" {
		return s.actAs(p.uid, as)
	}
	return s.callerByUID(p.uid)
}

// actAs is the caller root asks to act as (api.AsUserHeader): exactly that
// user, with that user's rights. Anyone but root asking is refused.
func (s *Server) actAs(uid int, name string) (*caller, error) {
	if uid != 0 {
		return nil, api.Denied(fmt.Sprintf("only root may act as another user (%s)", api.AsUserHeader))
	}
	id, err := s.kept.uids.get(name, func() (int, error) {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, api.Denied(fmt.Sprintf("cannot act as %q: not a user of this machine", name))
		}
		id, err := strconv.Atoi(u.Uid)
		if err != nil {
			return 0, fmt.Errorf("user %s: bad uid %q", name, u.Uid)
		}
		return id, nil
	})
	if err != nil {
		return nil, err
	}
	return s.callerByUID(id)
}

// writeError is the one place errors become HTTP statuses.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *api.Error
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, store.ErrNotFound):
		ae = api.NotFound("no such job")
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &api.Error{Code: api.CodeInternal, Message: "internal error: " + err.Error()}
	}
	status := map[string]int{
		api.CodeInvalid:     http.StatusBadRequest,
		api.CodeDenied:      http.StatusForbidden,
		api.CodeNotFound:    http.StatusNotFound,
		api.CodeConflict:    http.StatusConflict,
		api.CodeUnavailable: http.StatusServiceUnavailable,
	}[ae.Code]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, ae)
}

// maxSmallBody caps the body of the other requests: a project, a key,
// an action on a job.
const maxSmallBody = 1 << 20

// decodeBody decodes the request's JSON body, of at most limit bytes,
// into v. A member v has no field for, a member given twice, invalid
// UTF-8 and anything after the value are refused; names match whatever
// their case, as with encoding/json. The JSON v2 decoder: on a
// submission twice as fast as encoding/json's, with a fifth of its
// allocations.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	err := jsonv2.UnmarshalRead(http.MaxBytesReader(w, r.Body, limit), v,
		jsonv2.RejectUnknownMembers(true), jsonv2.MatchCaseInsensitiveNames(true))
	if err != nil {
		return api.Invalid("malformed request: " + err.Error())
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) whoami(w http.ResponseWriter, _ *http.Request, c *caller) error {
	writeJSON(w, http.StatusOK, c.Identity)
	return nil
}

func (s *Server) info(w http.ResponseWriter, _ *http.Request, _ *caller) error {
	writeJSON(w, http.StatusOK, api.ServerInfo{SSHGateway: s.cfg.SSHAddress()})
	return nil
}

// postJob submits a job and answers with it as stored, or with its brief
// (?view=brief): what gsub prints, and a tenth of what the whole job
// costs to encode and decode.
func (s *Server) postJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	brief := false
	switch view := r.URL.Query().Get("view"); view {
	case "":
	case "brief":
		brief = true
	default:
		return api.Invalid(fmt.Sprintf("view %q is not a view of jobs; views: brief", view))
	}
	var req api.SubmitRequest
	if err := decodeBody(w, r, maxBody, &req); err != nil {
		return err
	}
	j, err := s.submit(r.Context(), c, req.Spec)
	if err != nil {
		return err
	}
	s.log.Info("job submitted", "job", j.ID, "user", j.User, "name", j.Name, "state", j.State)
	s.publish(api.EventSubmitted, j)
	s.poke()
	w.Header().Set("Location", "/api/v1/jobs/"+strconv.FormatInt(j.ID, 10))
	if brief {
		j = j.Brief()
	}
	writeJSON(w, http.StatusCreated, j)
	return nil
}

// jobID is the record that the {id} of the path names: a job, an array,
// or a task (ID.TASK).
func (s *Server) jobID(r *http.Request) (int64, error) {
	ref, err := api.ParseJobRef(r.PathValue("id"))
	if err != nil {
		return 0, err
	}
	return s.resolve(r.Context(), ref)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := s.jobID(r)
	if err != nil {
		return err
	}
	j, err := s.store.Job(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return api.NotFound(fmt.Sprintf("job %d does not exist", id))
	}
	if err != nil {
		return err
	}
	s.withUsage(r, j)
	writeJSON(w, http.StatusOK, visible(j, c))
	return nil
}

// withUsage adds the live usage of a running job.
func (s *Server) withUsage(r *http.Request, j *api.Job) {
	if j.State != api.Running {
		return
	}
	ex, ok := s.execs[j.Executor]
	if !ok {
		return
	}
	u, err := ex.Usage(r.Context(), j)
	if err != nil {
		return
	}
	u.WallSeconds = time.Since(j.Started).Seconds()
	u.MaxMemory = max(u.MaxMemory, j.Usage.MaxMemory, u.Memory)
	j.Usage = u
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, c *caller) error {
	q := r.URL.Query()
	var sq store.Query
	users := q["user"]
	switch {
	case len(users) == 0:
		sq.Users = []string{c.User}
	case len(users) == 1 && users[0] == "*":
	default:
		sq.Users = users
	}
	for _, st := range q["state"] {
		if !api.State(st).Valid() {
			return api.Invalid(fmt.Sprintf("state %q is not a job state; states: %v", st, api.States))
		}
		sq.States = append(sq.States, api.State(st))
	}
	for _, v := range q["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return api.Invalid(fmt.Sprintf("job id %q is not a number", v))
		}
		sq.IDs = append(sq.IDs, id)
	}
	switch view := q.Get("view"); view {
	case "":
	case "brief":
		sq.Brief = true
		if bl, ok := s.store.(store.BriefLister); ok {
			return writeBriefs(w, r, bl, sq)
		}
	default:
		return api.Invalid(fmt.Sprintf("view %q is not a view of jobs; views: brief", view))
	}
	jobs, err := s.store.Jobs(r.Context(), sq)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	out := make([]*api.Job, len(jobs))
	for i, j := range jobs {
		if sq.Brief {
			out[i] = j.Brief() // nothing private in it
		} else {
			out[i] = visible(j, c)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeBriefs answers a brief listing with the briefs as the store keeps
// them, encoded already: nothing in a brief is private (api.Job.Brief),
// and decoding and encoding again thousands of jobs is most of what a
// listing would cost. It is gathered before it is sent, so that a failure
// half-way is an error answer, not a truncated list.
func writeBriefs(w http.ResponseWriter, r *http.Request, bl store.BriefLister, q store.Query) error {
	var buf bytes.Buffer
	buf.WriteByte('[')
	err := bl.BriefJSON(r.Context(), q, func(doc []byte) error {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(doc)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	buf.WriteString("]\n")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// visible is the part of j that c may read. Like Grid Engine, anybody may
// see that a job exists, whose it is and how it is doing; only its owner
// and admins see what it runs (script, arguments, environment).
func visible(j *api.Job, c *caller) *api.Job {
	if c.Admin || c.User == j.User {
		return j
	}
	r := j.Clone()
	r.Spec.Script, r.Spec.Args, r.Spec.Command = "", nil, nil
	r.Spec.Env, r.Spec.SubmitEnv = nil, nil
	if r.Run != nil {
		r.Run.Argv, r.Run.Env = nil, nil
	}
	return r
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request, c *caller) error {
	ref, err := api.ParseJobRef(r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := s.deleteRef(r.Context(), c, ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// heartbeat keeps idle event streams alive through proxies.
const heartbeat = 15 * time.Second

// events streams job events as Server-Sent Events, restricted to the jobs
// named by ?id= if any.
func (s *Server) events(w http.ResponseWriter, r *http.Request, c *caller) error {
	ids := map[int64]bool{}
	for _, v := range r.URL.Query()["id"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return api.Invalid(fmt.Sprintf("job id %q is not a number", v))
		}
		ids[id] = true
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("streaming is not supported by this connection")
	}
	ch := s.bus.Subscribe(r.Context())
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": godocker events\n\n")
	fl.Flush()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			if len(ids) > 0 && !ids[ev.Job.ID] {
				continue
			}
			ev.Job = visible(ev.Job, c)
			b, err := json.Marshal(ev)
			if err != nil {
				return nil
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Kind, b)
		}
		fl.Flush()
	}
}
