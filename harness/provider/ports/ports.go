// Package ports picks loopback TCP ports for a topology's processes and
// containers, which are told their port before they bind it.
package ports

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Free asks the kernel for a free TCP port on 127.0.0.1 and releases it,
// so a child can be told its port up front and keep it across restarts.
func Free() (int, error) {
	// A region keeps its port across restarts and is wired into gates and
	// proxies before it starts, so the port is reserved by number, not held
	// open. Ports below the kernel's ephemeral range are never handed out to
	// other ":0" listeners or outgoing connections in the meantime.
	lo := ephemeralLow()
	const base = 10000
	if lo > base+1000 {
		for i := 0; i < 64; i++ {
			port := base + mrand.IntN(lo-base)
			if !handedOut.claim(port) {
				continue // free now, but promised to a child that has not bound it yet
			}
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				ln.Close()
				return port, nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// handedOut remembers the ports Free returned lately: a port is picked
// free but bound only later by the child, so picking it twice in between
// would start two children on one port.
var handedOut = &recentPorts{seen: map[int]bool{}}

type recentPorts struct {
	mu    sync.Mutex
	seen  map[int]bool
	order []int
}

// claim reserves port unless it was handed out among the last 4096.
func (r *recentPorts) claim(port int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[port] {
		return false
	}
	r.seen[port] = true
	r.order = append(r.order, port)
	if len(r.order) > 4096 {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux
// default 32768); 0 when unknown.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return n
}
