#include "wire/verbs.hpp"

namespace zt::wire {

namespace {

template <class T>
Result<Payload> parseAs(ByteView payload) {
  auto v = T::parse(payload);
  if (!v) return fail(v.error());
  return Payload(std::move(*v));
}

template <class Body>
Result<Payload> parseOkAs(const OkHeader& ok) {
  auto body = Body::parse(ok.body);
  if (!body) return fail(body.error());
  return Payload(OkReply<Body>{ok.inReVerb, ok.inRePacketId, std::move(*body)});
}

Result<Payload> parseOk(ByteView payload) {
  auto ok = OkHeader::parse(payload);
  if (!ok) return fail(ok.error());
  switch (Verb(ok->inReVerb & 0x1f)) {
    case Verb::Hello: return parseOkAs<OkHello>(*ok);
    case Verb::Whois: return parseOkAs<OkWhois>(*ok);
    case Verb::Echo: return parseOkAs<Echo>(*ok);
    case Verb::NetworkConfigRequest: return parseOkAs<NetworkConfigChunk>(*ok);
    case Verb::MulticastGather: return parseOkAs<OkMulticastGather>(*ok);
    case Verb::MulticastFrame: return parseOkAs<OkMulticastFrame>(*ok);
    case Verb::ExtFrame: return parseOkAs<OkExtFrame>(*ok);
    default: return parseOkAs<Opaque>(*ok);
  }
}

}  // namespace

Result<Payload> parsePayload(uint8_t verb, ByteView payload) {
  switch (Verb(verb & 0x1f)) {
    case Verb::Nop: return parseAs<Opaque>(payload);
    case Verb::Hello: return parseAs<Hello>(payload);
    case Verb::Error: return parseAs<ErrorReply>(payload);
    case Verb::Ok: return parseOk(payload);
    case Verb::Whois: return parseAs<Whois>(payload);
    case Verb::Rendezvous: return parseAs<Rendezvous>(payload);
    case Verb::Frame: return parseAs<Frame>(payload);
    case Verb::ExtFrame: return parseAs<ExtFrame>(payload);
    case Verb::Echo: return parseAs<Echo>(payload);
    case Verb::MulticastLike: return parseAs<MulticastLike>(payload);
    case Verb::NetworkCredentials: return parseAs<NetworkCredentials>(payload);
    case Verb::NetworkConfigRequest: return parseAs<NetworkConfigRequest>(payload);
    case Verb::NetworkConfig: return parseAs<NetworkConfigChunk>(payload);
    case Verb::MulticastGather: return parseAs<MulticastGather>(payload);
    case Verb::MulticastFrame: return parseAs<MulticastFrame>(payload);
    case Verb::PushDirectPaths: return parseAs<PushDirectPaths>(payload);
    case Verb::UserMessage: return parseAs<UserMessage>(payload);
    case Verb::RemoteTrace: return parseAs<RemoteTrace>(payload);
    default: break;
  }
  return fail(std::string("no codec for verb ") + verbName(verb) + " (" + std::to_string(verb & 0x1f) + ")");
}

void writePayload(const Payload& payload, Writer& w) {
  std::visit([&w](const auto& p) { p.write(w); }, payload);
}

nlohmann::json describePayload(const Payload& payload) {
  return std::visit([](const auto& p) { return p.describe(); }, payload);
}

}  // namespace zt::wire
