package main

import (
	"fmt"
	"net"

	current "github.com/containernetworking/cni/pkg/types/100"
)

// mergeResult appends the agent's interfaces and IPs to the previous result; the agent's IP
// interface indexes count from its own first interface, so they shift by the previous count.
func mergeResult(prev *current.Result, answer *agentAnswer) (*current.Result, error) {
	merged := *prev
	merged.Interfaces = append([]*current.Interface{}, prev.Interfaces...)
	merged.IPs = append([]*current.IPConfig{}, prev.IPs...)
	offset := len(merged.Interfaces)
	for _, iface := range answer.Interfaces {
		merged.Interfaces = append(merged.Interfaces, &current.Interface{Name: iface.Name, Mac: iface.Mac, Sandbox: iface.Sandbox})
	}
	for _, ip := range answer.IPs {
		if ip.Interface < 0 || ip.Interface >= len(answer.Interfaces) {
			return nil, fmt.Errorf("ip %s names interface %d of %d", ip.Address, ip.Interface, len(answer.Interfaces))
		}
		address, network, err := net.ParseCIDR(ip.Address)
		if err != nil {
			return nil, fmt.Errorf("ip %q: %w", ip.Address, err)
		}
		network.IP = address
		merged.IPs = append(merged.IPs, &current.IPConfig{Interface: current.Int(offset + ip.Interface), Address: *network})
	}
	return &merged, nil
}
