package hollownode

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// maxPodIPs bounds the pod IPs a node hands out from its podCIDR, so a
// wide podCIDR does not cost a wide bitmap.
const maxPodIPs = 4096

// nthSubnet is the i-th /size subnet of cidr (IPv4; Validate checked the
// room).
func nthSubnet(cidr netip.Prefix, size, i int) netip.Prefix {
	base := binary.BigEndian.Uint32(cidr.Masked().Addr().AsSlice())
	a := base + uint32(i)<<(32-size)
	return netip.PrefixFrom(addr4(a), size)
}

// nthAddr is address i of cidr (IPv4).
func nthAddr(cidr netip.Prefix, i int) netip.Addr {
	base := binary.BigEndian.Uint32(cidr.Masked().Addr().AsSlice())
	return addr4(base + uint32(i))
}

func addr4(a uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], a)
	return netip.AddrFrom4(b)
}

// podIPs hands out pod IPs of one node's podCIDR: host 1 is the gateway,
// the network and broadcast addresses are skipped. Not safe for concurrent
// use; the node's mutex guards it.
type podIPs struct {
	cidr netip.Prefix
	used []uint64 // bit h set: host h in use
	n    int      // hosts usable: 2 .. n
}

func newPodIPs(cidr netip.Prefix) podIPs {
	hosts := 1 << (32 - cidr.Bits())
	n := min(hosts-2, maxPodIPs-1)
	return podIPs{cidr: cidr.Masked(), used: make([]uint64, (n+64)/64), n: n}
}

// allocate returns a free address, or false when the podCIDR is full.
func (p *podIPs) allocate() (netip.Addr, bool) {
	for w := range p.used {
		free := ^p.used[w]
		if w == 0 {
			free &^= 0b11 // network address and gateway
		}
		if free == 0 {
			continue
		}
		h := w*64 + bits.TrailingZeros64(free)
		if h > p.n {
			return netip.Addr{}, false
		}
		p.used[w] |= 1 << (h % 64)
		return nthAddr(p.cidr, h), true
	}
	return netip.Addr{}, false
}

// mark records a (possibly foreign) address as in use, e.g. one a running
// pod had before the fleet restarted; it reports whether it is ours.
func (p *podIPs) mark(a netip.Addr) bool {
	h, ok := p.host(a)
	if ok {
		p.used[h/64] |= 1 << (h % 64)
	}
	return ok
}

// release frees an address allocate or mark handed out.
func (p *podIPs) release(a netip.Addr) {
	if h, ok := p.host(a); ok {
		p.used[h/64] &^= 1 << (h % 64)
	}
}

func (p *podIPs) host(a netip.Addr) (int, bool) {
	if !a.Is4() || !p.cidr.Contains(a) {
		return 0, false
	}
	base := binary.BigEndian.Uint32(p.cidr.Addr().AsSlice())
	h := int(binary.BigEndian.Uint32(a.AsSlice()) - base)
	if h < 2 || h > p.n {
		return 0, false
	}
	return h, true
}
