package main

import (
	"net"
	"testing"

	current "github.com/containernetworking/cni/pkg/types/100"
)

func bridgeResult(t *testing.T) *current.Result {
	t.Helper()
	_, network, _ := net.ParseCIDR("198.18.0.0/26")
	network.IP = net.ParseIP("198.18.0.5")
	return &current.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*current.Interface{{Name: "br0"}, {Name: "veth1"}, {Name: "eth0", Sandbox: "/var/run/netns/p"}},
		IPs:        []*current.IPConfig{{Interface: current.Int(2), Address: *network}},
	}
}

func TestMergeShiftsTheAgentsInterfaceIndexes(t *testing.T) {
	prev := bridgeResult(t)
	answer := &agentAnswer{
		Interfaces: []agentInterface{{Name: "zt0", Mac: "f2:00:00:00:00:01", Sandbox: "/var/run/netns/p"}, {Name: "zt1"}},
		IPs:        []agentIP{{Address: "198.19.0.12/16", Interface: 1}, {Address: "fd00::1/88", Interface: 0}},
	}
	merged, err := mergeResult(prev, answer)
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Interfaces) != 5 || merged.Interfaces[3].Name != "zt0" || merged.Interfaces[4].Name != "zt1" {
		t.Fatalf("interfaces: %v", merged.Interfaces)
	}
	if len(merged.IPs) != 3 || *merged.IPs[0].Interface != 2 || *merged.IPs[1].Interface != 4 || *merged.IPs[2].Interface != 3 {
		t.Fatalf("ips: %v", merged.IPs)
	}
	if merged.IPs[1].Address.String() != "198.19.0.12/16" {
		t.Fatalf("address kept as host/prefix: %s", merged.IPs[1].Address.String())
	}
	if len(prev.Interfaces) != 3 || len(prev.IPs) != 1 {
		t.Fatal("the previous result was modified")
	}
}

func TestMergeOfAnEmptyAnswerIsThePreviousResult(t *testing.T) {
	prev := bridgeResult(t)
	merged, err := mergeResult(prev, &agentAnswer{})
	if err != nil || len(merged.Interfaces) != 3 || len(merged.IPs) != 1 {
		t.Fatalf("merged %v, %v", merged, err)
	}
}

func TestMergeRejectsAnIPOfNoInterface(t *testing.T) {
	for _, ip := range []agentIP{{Address: "198.19.0.1/16", Interface: 1}, {Address: "198.19.0.1", Interface: 0}} {
		answer := &agentAnswer{Interfaces: []agentInterface{{Name: "zt0"}}, IPs: []agentIP{ip}}
		if _, err := mergeResult(bridgeResult(t), answer); err == nil {
			t.Fatalf("%v accepted", ip)
		}
	}
}
