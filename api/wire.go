package api

import (
	"errors"
	"time"
)

// SubmitRequest is the body of POST /api/v1/jobs. The owner is never part
// of it: the server takes the caller's identity from the connection.
type SubmitRequest struct {
	Spec Spec `json:"spec"`
}

// DeleteResult is the answer of DELETE /api/v1/jobs/{id}.
type DeleteResult struct {
	ID int64 `json:"id"`
	// Action is "deleted" (it had not started: now cancelled) or
	// "registered" (it runs: its container is being killed).
	Action string `json:"action"`
	User   string `json:"user"` // who deleted it
}

// Delete actions.
const (
	ActionDeleted    = "deleted"
	ActionRegistered = "registered"
)

// Maintenance is the state of maintenance mode (GET and PUT
// /api/v1/maintenance): while on, submissions are refused and no job
// starts (pending jobs wait with ReasonMaintenance); running jobs go on
// and reads still work.
type Maintenance struct {
	On      bool   `json:"on"`
	Message string `json:"message,omitempty"` // why, shown to those refused
}

// Identity is who the server believes the caller is.
type Identity struct {
	User  string `json:"user"`
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	Admin bool   `json:"admin"`
}

// Event kinds.
const (
	EventSubmitted = "submitted"
	EventStarted   = "started"
	EventFinished  = "finished"
	EventUpdated   = "updated"
)

// Event is a change to a job, as carried by the bus and the SSE stream.
type Event struct {
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	Job  *Job      `json:"job"`
}

// Error codes: the stable part of an error that clients branch on.
const (
	CodeInvalid     = "invalid"     // bad input; nothing changed
	CodeDenied      = "denied"      // not allowed for this caller
	CodeNotFound    = "not_found"   // no such job
	CodeConflict    = "conflict"    // not possible in the job's current state
	CodeUnavailable = "unavailable" // try again later (maintenance, limits)
	CodeInternal    = "internal"
)

// Error is the body of every non-2xx answer of the API.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Is lets errors.Is match on the code: errors.Is(err, api.ErrNotFound).
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code && t.Message == ""
}

// Sentinels to compare with errors.Is; they match any Error of their code.
var (
	ErrInvalid     = &Error{Code: CodeInvalid}
	ErrDenied      = &Error{Code: CodeDenied}
	ErrNotFound    = &Error{Code: CodeNotFound}
	ErrConflict    = &Error{Code: CodeConflict}
	ErrUnavailable = &Error{Code: CodeUnavailable}
)

// Errorf-style constructors keep call sites short.

// Invalid returns a CodeInvalid error with msg.
func Invalid(msg string) *Error { return &Error{Code: CodeInvalid, Message: msg} }

// Denied returns a CodeDenied error with msg.
func Denied(msg string) *Error { return &Error{Code: CodeDenied, Message: msg} }

// NotFound returns a CodeNotFound error with msg.
func NotFound(msg string) *Error { return &Error{Code: CodeNotFound, Message: msg} }

// Conflict returns a CodeConflict error with msg.
func Conflict(msg string) *Error { return &Error{Code: CodeConflict, Message: msg} }

// Alter is the body of PATCH /api/v1/jobs/{id} (gctl alter, qalter):
// the fields to change of a job that has not started; nil leaves one as
// it is.
type Alter struct {
	Name         *string       `json:"name,omitempty"`
	CPUs         *int          `json:"cpus,omitempty"`
	GPUs         *int          `json:"gpus,omitempty"`
	Memory       *int64        `json:"memory,omitempty"`
	Walltime     *int64        `json:"walltime,omitempty"`
	Priority     *int          `json:"priority,omitempty"`
	Dependencies *[]Dependency `json:"dependencies,omitempty"` // replaces them all; empty: none
	Executor     *string       `json:"executor,omitempty"`     // "": the first that takes its project
}

// Job control actions: POST /api/v1/jobs/{id}/{action}.
const (
	ControlHold    = "hold"
	ControlRelease = "release"
	ControlSuspend = "suspend"
	ControlResume  = "resume"
	ControlRequeue = "requeue"
)

// Status is GET /api/v1/status: the live godockerd processes sharing the
// store, and which one schedules (gctl status).
type Status struct {
	// Leader is the id of the process that schedules ("" : none now).
	Leader    string    `json:"leader"`
	Processes []Process `json:"processes"`
}

// Process is one running godockerd, as it announces itself.
type Process struct {
	ID      string    `json:"id"` // unique per process run: host:pid:random
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Roles   []string  `json:"roles"`
	Version string    `json:"version,omitempty"`
	Started time.Time `json:"started"`
	// Seen is when it last announced itself.
	Seen time.Time `json:"seen"`
}
