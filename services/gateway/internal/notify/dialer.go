package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrForbiddenAddress is a destination that resolves to an address the
// platform does not deliver to (server-side request forgery).
var ErrForbiddenAddress = errors.New("destination address not allowed")

// Guard decides which addresses may be dialled: public ones, and private
// ones only when the configuration allows them.
type Guard struct {
	allowPrivate bool
	allowed      []netip.Prefix
}

// NewGuard is the guard of c.
func NewGuard(c Config) Guard {
	g := Guard{allowPrivate: c.AllowPrivate}
	for _, s := range c.AllowCIDRs {
		if p, err := netip.ParsePrefix(s); err == nil {
			g.allowed = append(g.allowed, p.Masked())
		}
	}
	return g
}

// Check refuses loopback, link-local, private, unspecified, multicast and
// other special-purpose addresses unless allowed.
func (g Guard) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	for _, p := range g.allowed {
		if p.Contains(ip) {
			return nil
		}
	}
	if g.allowPrivate || !special(ip) {
		return nil
	}
	return fmt.Errorf("%w: %s is loopback, link-local or private", ErrForbiddenAddress, ip)
}

var specialRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"), netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("64:ff9b::/96"),
}

func special(ip netip.Addr) bool {
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range specialRanges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// CheckURL resolves the URL's host and refuses it when any of its
// addresses is not allowed (at create: the dialer checks again).
func (g Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.Check(ip)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if err := g.Check(ip); err != nil {
			return err
		}
	}
	return nil
}

// Client is the HTTP client deliveries go out on: the check runs on the
// address actually dialled (after DNS, for every redirect-free
// connection), so a name that resolves to a private address later is
// still refused. Redirects are not followed: a 3xx is a failed attempt.
func (g Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
		}
		return g.Check(ap.Addr())
	}}
	tr := &http.Transport{DialContext: d.DialContext, Proxy: nil, ForceAttemptHTTP2: true,
		MaxIdleConns: 256, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
