package docker

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// dialInNetns connects to the TCP address addr from a socket created in
// the network namespace ns. A socket belongs to the namespace it was
// created in, so only its creation needs the namespace: a goroutine locks
// its thread, enters ns, dials (Go's net package calls socket(2) on the
// calling thread and only waits for the connection in the netpoller) and
// returns to the thread's own namespace. If it cannot return, the thread
// stays locked and dies with the goroutine, so no other goroutine ever
// runs in the container's network.
func dialInNetns(ctx context.Context, ns *os.File, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		conn, err := func() (conn net.Conn, err error) {
			self, err := os.Open("/proc/thread-self/ns/net")
			if err != nil {
				runtime.UnlockOSThread()
				return nil, fmt.Errorf("open own network namespace: %w", err)
			}
			defer self.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				runtime.UnlockOSThread()
				return nil, fmt.Errorf("enter the container's network namespace: %w", err)
			}
			var d net.Dialer
			conn, err = d.DialContext(ctx, "tcp4", addr)
			if rerr := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); rerr != nil {
				// Keep the thread locked: it ends with this goroutine.
				if conn != nil {
					conn.Close()
				}
				return nil, fmt.Errorf("return from the container's network namespace: %w", rerr)
			}
			runtime.UnlockOSThread()
			return conn, err
		}()
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}
