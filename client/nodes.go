package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/godocker/godocker/api"
)

// Nodes lists every executor's nodes with their capacity and what jobs
// hold of them.
func (c *Client) Nodes(ctx context.Context) ([]*api.NodeStatus, error) {
	var nodes []*api.NodeStatus
	if err := c.do(ctx, http.MethodGet, "/api/v1/nodes", nil, nil, &nodes); err != nil {
		return nil, err
	}
	return nodes, nil
}

// Output reads at most max bytes of a job's stream (api.Stdout or
// api.Stderr) from offset; a negative offset counts from the end (-4096:
// the last 4 KiB). Only the job's owner and admins may. A stream that
// does not exist yet is empty, not an error.
func (c *Client) Output(ctx context.Context, ref api.JobRef, stream string, offset int64, max int) (*api.Output, error) {
	v := url.Values{"stream": {stream}, "offset": {strconv.FormatInt(offset, 10)}, "max": {strconv.Itoa(max)}}
	var out api.Output
	if err := c.do(ctx, http.MethodGet, "/api/v1/jobs/"+ref.String()+"/output", v, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
