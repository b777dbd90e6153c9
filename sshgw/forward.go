package sshgw

import (
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/godocker/godocker/executor"
)

// loopback are the destinations ssh -L may name: the job's own
// localhost. Nothing else is reachable through the gateway.
var loopback = map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true}

// mayForward is the first check of ssh -L: only to the job's localhost,
// only for job logins.
func (g *Gateway) mayForward(ctx ssh.Context, host string, port uint32) bool {
	l, err := parseLogin(ctx.User())
	return err == nil && l.isJob() && loopback[host] && port > 0 && port < 1<<16
}

// forwardRequest is the payload of a direct-tcpip channel (RFC 4254 7.2).
type forwardRequest struct {
	DestAddr   string
	DestPort   uint32
	OriginAddr string
	OriginPort uint32
}

// directTCPIP serves ssh -L: it connects to the port inside the job's
// container, from within the container's network, and relays.
func (g *Gateway) directTCPIP(_ *ssh.Server, _ *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	var req forwardRequest
	if err := gossh.Unmarshal(nc.ExtraData(), &req); err != nil {
		_ = nc.Reject(gossh.ConnectionFailed, "malformed forwarding request")
		return
	}
	if !g.mayForward(ctx, req.DestAddr, req.DestPort) {
		_ = nc.Reject(gossh.Prohibited, "only ports on the job's localhost may be forwarded")
		return
	}
	key, _ := ctx.Value(ssh.ContextKeyPublicKey).(ssh.PublicKey)
	p, err := g.authorize(ctx, ctx.User(), key)
	if err != nil {
		_ = nc.Reject(gossh.Prohibited, "permission denied")
		return
	}
	j, ex, err := g.enter(ctx, p)
	if err != nil {
		_ = nc.Reject(gossh.Prohibited, err.Error())
		return
	}
	d, ok := ex.(executor.Dialer)
	if !ok {
		_ = nc.Reject(gossh.Prohibited, fmt.Sprintf("executor %s cannot forward ports", ex.Name()))
		return
	}
	conn, err := d.DialJob(ctx, j, int(req.DestPort))
	if err != nil {
		g.log.Debug("ssh -L: dial in job", "job", j.Ref(), "port", req.DestPort, "err", err)
		_ = nc.Reject(gossh.ConnectionFailed, fmt.Sprintf("nothing answers on port %d in job %s", req.DestPort, j.Ref()))
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		conn.Close()
		return
	}
	go gossh.DiscardRequests(reqs)
	g.log.Info("ssh port forwarding into job", "job", j.Ref(), "port", req.DestPort, "key_user", p.keyUser)
	relay(ch, conn)
}

// relay copies both ways until both directions have ended, passing on
// each end of stream as a half-close.
func relay(ch gossh.Channel, conn net.Conn) {
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _ = io.Copy(ch, conn)
		_ = ch.CloseWrite()
	})
	wg.Go(func() {
		_, _ = io.Copy(conn, ch)
		if hc, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = hc.CloseWrite()
		} else {
			conn.Close()
		}
	})
	wg.Wait()
	ch.Close()
	conn.Close()
}
