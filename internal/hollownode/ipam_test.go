package hollownode

import (
	"net/netip"
	"testing"
)

func TestNthSubnetAndAddr(t *testing.T) {
	cidr := netip.MustParsePrefix("10.64.0.0/10")
	for _, tc := range []struct {
		name string
		size int
		i    int
		want string
	}{
		{"first", 24, 0, "10.64.0.0/24"},
		{"second", 24, 1, "10.64.1.0/24"},
		{"carry", 24, 256, "10.65.0.0/24"},
		{"last of /10", 24, 1<<14 - 1, "10.127.255.0/24"},
		{"wider", 20, 3, "10.64.48.0/20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nthSubnet(cidr, tc.size, tc.i).String(); got != tc.want {
				t.Errorf("nthSubnet(%s, %d, %d) = %s, want %s", cidr, tc.size, tc.i, got, tc.want)
			}
		})
	}
	if got := nthAddr(netip.MustParsePrefix("10.32.0.0/14"), 258).String(); got != "10.32.1.2" {
		t.Errorf("nthAddr = %s, want 10.32.1.2", got)
	}
}

func TestPodIPs(t *testing.T) {
	p := newPodIPs(netip.MustParsePrefix("10.64.3.0/29")) // hosts 2..6
	var got []string
	for {
		a, ok := p.allocate()
		if !ok {
			break
		}
		got = append(got, a.String())
	}
	want := []string{"10.64.3.2", "10.64.3.3", "10.64.3.4", "10.64.3.5", "10.64.3.6"}
	if len(got) != len(want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	p.release(netip.MustParseAddr("10.64.3.4"))
	if a, ok := p.allocate(); !ok || a.String() != "10.64.3.4" {
		t.Errorf("after release allocate = %v %v, want 10.64.3.4", a, ok)
	}
	// Foreign and reserved addresses are not ours.
	for _, s := range []string{"10.64.4.2", "10.64.3.0", "10.64.3.1", "10.64.3.7"} {
		if p.mark(netip.MustParseAddr(s)) {
			t.Errorf("mark(%s) = true, want false", s)
		}
	}

	// A /24 hands out 253 addresses, more than 110 pods need; adopted
	// addresses are skipped.
	q := newPodIPs(netip.MustParsePrefix("10.64.0.0/24"))
	if !q.mark(netip.MustParseAddr("10.64.0.2")) {
		t.Fatal("mark of a host address failed")
	}
	seen := map[netip.Addr]bool{}
	for {
		a, ok := q.allocate()
		if !ok {
			break
		}
		if seen[a] || a.String() == "10.64.0.2" {
			t.Fatalf("address %s handed out twice", a)
		}
		seen[a] = true
	}
	if len(seen) != 252 {
		t.Errorf("a /24 with one adopted address handed out %d addresses, want 252", len(seen))
	}
}
