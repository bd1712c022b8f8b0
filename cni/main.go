// ztkube-cni: a chained CNI plugin that hands (pod, netns) to the ztkube agent on this node over a
// unix socket and appends the agent's interfaces and IPs to the previous plugins' result. The
// protocol is in docs/kubernetes.md ("CNI socket protocol").
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
)

const (
	defaultSocket         = "/run/ztkube/cni.sock"
	defaultTimeoutSeconds = 30
)

// pluginConf is the network configuration: the common fields plus where the agent listens.
type pluginConf struct {
	types.PluginConf
	Socket         string `json:"socket,omitempty"`
	TimeoutSeconds int    `json:"timeoutSeconds,omitempty"`
}

// k8sArgs are the CNI_ARGS a Kubernetes runtime passes.
type k8sArgs struct {
	types.CommonArgs
	K8S_POD_NAMESPACE          types.UnmarshallableString //nolint:revive // names fixed by the runtimes
	K8S_POD_NAME               types.UnmarshallableString //nolint:revive
	K8S_POD_UID                types.UnmarshallableString //nolint:revive
	K8S_POD_INFRA_CONTAINER_ID types.UnmarshallableString //nolint:revive
}

func main() {
	skel.PluginMainFuncs(skel.CNIFuncs{Add: cmdAdd, Del: cmdDel, Check: cmdCheck},
		version.PluginSupports("0.4.0", "1.0.0"), "ztkube-cni: attaches pods to ZeroTier networks through the ztkube agent")
}

func parseConf(stdin []byte) (*pluginConf, error) {
	conf := &pluginConf{}
	if err := json.Unmarshal(stdin, conf); err != nil {
		return nil, types.NewError(types.ErrDecodingFailure, "ztkube-cni: cannot parse network configuration", err.Error())
	}
	if conf.Socket == "" {
		conf.Socket = defaultSocket
	}
	if conf.TimeoutSeconds <= 0 {
		conf.TimeoutSeconds = defaultTimeoutSeconds
	}
	if conf.RawPrevResult != nil {
		if err := version.ParsePrevResult(&conf.PluginConf); err != nil {
			return nil, types.NewError(types.ErrDecodingFailure, "ztkube-cni: cannot parse prevResult", err.Error())
		}
	}
	return conf, nil
}

// newRequest builds the agent request; ADD and CHECK need the pod, DEL takes what it is given
// (a runtime may repeat DEL long after the pod is gone).
func newRequest(command string, args *skel.CmdArgs, conf *pluginConf) (*agentRequest, error) {
	pod := k8sArgs{}
	pod.IgnoreUnknown = true
	if err := types.LoadArgs(args.Args, &pod); err != nil {
		return nil, types.NewError(types.ErrInvalidEnvironmentVariables, "ztkube-cni: cannot parse CNI_ARGS", err.Error())
	}
	request := &agentRequest{
		Command:      command,
		ContainerID:  args.ContainerID,
		Netns:        args.Netns,
		IfName:       args.IfName,
		PodNamespace: string(pod.K8S_POD_NAMESPACE),
		PodName:      string(pod.K8S_POD_NAME),
		PodUID:       string(pod.K8S_POD_UID),
	}
	if command != "DEL" && (request.PodNamespace == "" || request.PodName == "" || request.PodUID == "") {
		return nil, types.NewError(types.ErrInvalidEnvironmentVariables,
			"ztkube-cni: CNI_ARGS must give K8S_POD_NAMESPACE, K8S_POD_NAME and K8S_POD_UID", args.Args)
	}
	if conf.PrevResult != nil {
		prev, err := current.NewResultFromResult(conf.PrevResult)
		if err != nil {
			return nil, types.NewError(types.ErrDecodingFailure, "ztkube-cni: cannot convert prevResult", err.Error())
		}
		request.PrevResult = prev
	}
	return request, nil
}

func (conf *pluginConf) agent() *agentClient {
	return &agentClient{socket: conf.Socket, timeout: time.Duration(conf.TimeoutSeconds) * time.Second}
}

func cmdAdd(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	if conf.PrevResult == nil {
		return types.NewError(types.ErrInvalidNetworkConfig, "ztkube-cni: must be chained after a plugin that gives a prevResult", "")
	}
	request, err := newRequest("ADD", args, conf)
	if err != nil {
		return err
	}
	answer, err := conf.agent().call(request)
	if err != nil {
		return tryAgainLater(err)
	}
	result, err := mergeResult(request.PrevResult, answer)
	if err != nil {
		return types.NewError(types.ErrInternal, "ztkube-cni: bad answer from the agent", err.Error())
	}
	return types.PrintResult(result, conf.CNIVersion)
}

func cmdCheck(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	request, err := newRequest("CHECK", args, conf)
	if err != nil {
		return err
	}
	_, err = conf.agent().call(request)
	return tryAgainLater(err)
}

// cmdDel succeeds when the agent cannot be reached: DEL must be idempotent and never block a
// pod's removal, and the agent collects attachments whose pod or netns is gone on its own.
func cmdDel(args *skel.CmdArgs) error {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return err
	}
	request, err := newRequest("DEL", args, conf)
	if err != nil {
		return err
	}
	_, err = conf.agent().call(request)
	if unreachable, ok := err.(*agentUnreachableError); ok {
		fmt.Fprintf(os.Stderr, "ztkube-cni: DEL %s: %v (ignored: the agent collects it)\n", args.ContainerID, unreachable)
		return nil
	}
	return err
}
