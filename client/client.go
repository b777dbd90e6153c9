// Package client is the Go client of GoDocker's REST API. It talks to
// godockerd over its unix socket, where the kernel tells the server who the
// caller is, so there is nothing to log in with.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/godocker/godocker/api"
)

// DefaultSocket is where godockerd listens unless configured otherwise.
const DefaultSocket = "/run/godocker/godockerd.sock"

// Client calls one godockerd.
type Client struct {
	http   *http.Client
	base   string // e.g. http://godocker
	socket string
	as     string // the user root acts as (As)
}

// As returns a client that acts as user: the server answers it as if that
// user had called. Only root may (the SSH gateway serves gtop to users
// this way); for anyone else the server refuses every call.
func (c *Client) As(user string) *Client {
	cc := *c
	cc.as = user
	return &cc
}

// New returns a client of the server listening on the unix socket path.
func New(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 4,
	}
	return &Client{http: &http.Client{Transport: tr}, base: "http://godocker", socket: socket}
}

// FromEnv returns a client of the server named by GODOCKER_SOCKET, or of
// the default socket.
func FromEnv() *Client {
	s := os.Getenv("GODOCKER_SOCKET")
	if s == "" {
		s = DefaultSocket
	}
	return New(s)
}

// Socket is the path the client connects to.
func (c *Client) Socket() string { return c.socket }

// Submit asks the server to queue a job. The answer is the job's brief
// (api.Job.Brief: its id, name, state, reason, resources, array and
// dependencies); Job reads the rest.
func (c *Client) Submit(ctx context.Context, spec api.Spec) (*api.Job, error) {
	var j api.Job
	err := c.do(ctx, http.MethodPost, "/api/v1/jobs", briefView, api.SubmitRequest{Spec: spec}, &j)
	if err != nil {
		return nil, err
	}
	return &j, nil
}

// briefView asks for api.Job.Brief of each job.
var briefView = url.Values{"view": {"brief"}}

// Job returns one job. A missing job, or one the caller may not see, is an
// error matching api.ErrNotFound.
func (c *Client) Job(ctx context.Context, ref api.JobRef) (*api.Job, error) {
	var j api.Job
	if err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+ref.String(), nil, nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Query selects jobs for Jobs.
type Query struct {
	// Users whose jobs to list; empty: the caller's; "*": everybody's.
	Users []string
	// States to list; empty: every state.
	States []api.State
	// IDs to list; empty: any.
	IDs []int64
	// Brief asks only for what a listing shows of each job (api.Job.Brief):
	// far less to send and decode than whole jobs.
	Brief bool
}

// Jobs lists jobs in increasing id order.
func (c *Client) Jobs(ctx context.Context, q Query) ([]*api.Job, error) {
	v := url.Values{}
	for _, u := range q.Users {
		v.Add("user", u)
	}
	for _, s := range q.States {
		v.Add("state", string(s))
	}
	for _, id := range q.IDs {
		v.Add("id", strconv.FormatInt(id, 10))
	}
	if q.Brief {
		v.Set("view", "brief")
	}
	var jobs []*api.Job
	if err := c.do(ctx, http.MethodGet, "/api/v1/jobs", v, nil, decodeList(&jobs)); err != nil {
		return nil, err
	}
	return jobs, nil
}

// decodeList decodes a listing of jobs with the JSON v2 decoder of
// github.com/go-json-experiment/json: the same JSON, decoded two to three
// times faster than encoding/json does, which is most of what gstat costs
// with thousands of jobs queued. The server's encoding is exact (names as
// tagged, valid UTF-8), where v2's stricter defaults change nothing.
type decodeList *[]*api.Job

// Delete deletes a job: a job that has not started is cancelled, a running
// one has its container killed.
func (c *Client) Delete(ctx context.Context, ref api.JobRef) (*api.DeleteResult, error) {
	var r api.DeleteResult
	if err := c.do(ctx, http.MethodDelete, "/api/v1/jobs/"+ref.String(), nil, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Maintenance reports whether maintenance mode is on, and why.
func (c *Client) Maintenance(ctx context.Context) (*api.Maintenance, error) {
	var m api.Maintenance
	if err := c.do(ctx, http.MethodGet, "/api/v1/maintenance", nil, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// SetMaintenance turns maintenance mode on (with a message for those
// refused) or off. Admins only.
func (c *Client) SetMaintenance(ctx context.Context, m api.Maintenance) (*api.Maintenance, error) {
	var out api.Maintenance
	if err := c.do(ctx, http.MethodPut, "/api/v1/maintenance", nil, m, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Whoami returns the identity the server sees for this client.
func (c *Client) Whoami(ctx context.Context) (*api.Identity, error) {
	var id api.Identity
	if err := c.do(ctx, http.MethodGet, "/api/v1/whoami", nil, nil, &id); err != nil {
		return nil, err
	}
	return &id, nil
}

// Info says what the server offers, e.g. the SSH gateway's address.
func (c *Client) Info(ctx context.Context) (*api.ServerInfo, error) {
	var in api.ServerInfo
	if err := c.do(ctx, http.MethodGet, "/api/v1/info", nil, nil, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// Status lists the live godockerd processes and which one schedules.
func (c *Client) Status(ctx context.Context) (*api.Status, error) {
	var st api.Status
	if err := c.do(ctx, http.MethodGet, "/api/v1/status", nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Events streams job events (Server-Sent Events) until ctx ends or the
// connection drops; the channel is closed then. ids, if given, restricts
// the stream to those jobs.
func (c *Client) Events(ctx context.Context, ids ...int64) (<-chan api.Event, error) {
	v := url.Values{}
	for _, id := range ids {
		v.Add("id", strconv.FormatInt(id, 10))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/events?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.as != "" {
		req.Header.Set(api.AsUserHeader, c.as)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.connErr(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	ch := make(chan api.Event, 16)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			var ev api.Event
			if json.Unmarshal([]byte(data), &ev) != nil {
				continue
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.as != "" {
		req.Header.Set(api.AsUserHeader, c.as)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.connErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(resp)
	}
	if out == nil {
		return nil
	}
	switch out := out.(type) {
	case decodeList:
		err = jsonv2.UnmarshalRead(resp.Body, (*[]*api.Job)(out))
	case *api.Job:
		// The same decoder for one job: a submission's answer is most
		// of what a client spends on it.
		err = jsonv2.UnmarshalRead(resp.Body, out)
	default:
		err = json.NewDecoder(resp.Body).Decode(out)
	}
	if err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// connErr turns a failure to reach the server into advice.
func (c *Client) connErr(err error) error {
	var op *net.OpError
	if errors.As(err, &op) || errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot reach godockerd at %s (is it running? start it with `make run` or `godockerd`, or set GODOCKER_SOCKET): %w", c.socket, err)
	}
	return err
}

func decodeError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var e api.Error
	if json.Unmarshal(b, &e) == nil && e.Code != "" {
		return &e
	}
	msg := strings.TrimSpace(string(b))
	if msg == "" {
		msg = resp.Status
	}
	return &api.Error{Code: api.CodeInternal, Message: fmt.Sprintf("server answered %s: %s", resp.Status, msg)}
}

// Control applies a job control action (api.ControlHold, ControlRelease,
// ControlSuspend, ControlResume, ControlRequeue) and returns the job as it
// is then. An action the job's state does not allow is an error matching
// api.ErrConflict.
func (c *Client) Control(ctx context.Context, ref api.JobRef, action string) (*api.Job, error) {
	var j api.Job
	if err := c.do(ctx, http.MethodPost, "/api/v1/jobs/"+ref.String()+"/"+url.PathEscape(action), nil, nil, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Alter changes a job that has not started yet (qalter).
func (c *Client) Alter(ctx context.Context, ref api.JobRef, a api.Alter) (*api.Job, error) {
	var j api.Job
	if err := c.do(ctx, http.MethodPatch, "/api/v1/jobs/"+ref.String(), nil, a, &j); err != nil {
		return nil, err
	}
	return &j, nil
}
