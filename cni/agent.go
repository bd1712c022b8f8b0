package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// agentRequest is one request on the agent's CNI socket.
type agentRequest struct {
	Command      string          `json:"command"`
	ContainerID  string          `json:"containerId"`
	Netns        string          `json:"netns"`
	IfName       string          `json:"ifName"`
	PodNamespace string          `json:"podNamespace"`
	PodName      string          `json:"podName"`
	PodUID       string          `json:"podUid"`
	PrevResult   *current.Result `json:"prevResult,omitempty"`
}

type agentInterface struct {
	Name    string `json:"name"`
	Mac     string `json:"mac"`
	Sandbox string `json:"sandbox"`
}

type agentIP struct {
	Address   string `json:"address"`
	Interface int    `json:"interface"`
}

// agentAnswer is the agent's answer: interfaces and IPs (indexes into Interfaces), or an error.
type agentAnswer struct {
	Interfaces []agentInterface `json:"interfaces"`
	IPs        []agentIP        `json:"ips"`
	Error      *types.Error     `json:"error,omitempty"`
}

type agentClient struct {
	socket  string
	timeout time.Duration
}

// agentUnreachableError: no agent listens on the socket (or it did not answer in time).
type agentUnreachableError struct {
	socket string
	cause  error
}

func (e *agentUnreachableError) Error() string {
	return fmt.Sprintf("ztkube agent unreachable at %s: %v", e.socket, e.cause)
}

// call sends one request and reads one answer on a new connection. A failure to talk to the agent
// is an agentUnreachableError (callers turn it into "try again later"), an error the agent
// answers is returned as the CNI error it is.
func (c *agentClient) call(request *agentRequest) (*agentAnswer, error) {
	answer, err := c.exchange(request)
	if err != nil {
		return nil, &agentUnreachableError{socket: c.socket, cause: err}
	}
	if answer.Error != nil {
		return nil, answer.Error
	}
	return answer, nil
}

func (c *agentClient) exchange(request *agentRequest) (*agentAnswer, error) {
	conn, err := net.DialTimeout("unix", c.socket, c.timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, err
	}
	line, err := json.Marshal(request)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		return nil, err
	}
	answer := &agentAnswer{}
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(answer); err != nil {
		return nil, fmt.Errorf("reading the answer to %s: %w", request.Command, err)
	}
	return answer, nil
}

// tryAgainLater makes an unreachable agent the CNI error a runtime retries.
func tryAgainLater(err error) error {
	if unreachable, ok := err.(*agentUnreachableError); ok {
		return types.NewError(types.ErrTryAgainLater, unreachable.Error(), "is the ztkube agent running on this node?")
	}
	return err
}
