// Every verb payload codec behind one entry point: parse by verb (OK bodies by their in-re
// verb), write back, describe as JSON. The structs are in verbs_vl1.hpp and verbs_vl2.hpp.
#pragma once
#include <variant>

#include "wire/verbs_vl1.hpp"
#include "wire/verbs_vl2.hpp"

namespace zt::wire {

using Payload =
    std::variant<Opaque, Hello, ErrorReply, OkReply<OkHello>, OkReply<OkWhois>, OkReply<Echo>, OkReply<NetworkConfigChunk>,
                 OkReply<OkMulticastGather>, OkReply<OkMulticastFrame>, OkReply<OkExtFrame>, OkReply<Opaque>, Whois, Rendezvous,
                 Frame, ExtFrame, Echo, MulticastLike, NetworkCredentials, NetworkConfigRequest, NetworkConfigChunk,
                 MulticastGather, MulticastFrame, PushDirectPaths, UserMessage, RemoteTrace>;

// Parses the payload of `verb` (its low 5 bits; the payload decompressed, and for HELLO with the
// moon list already decrypted). NOP and OK bodies of verbs without an OK form give Opaque. An
// error for a malformed payload and for verbs with no codec (ACK, QOS_MEASUREMENT,
// PATH_NEGOTIATION_REQUEST, unknown numbers).
Result<Payload> parsePayload(uint8_t verb, ByteView payload);
void writePayload(const Payload& payload, Writer& w);
nlohmann::json describePayload(const Payload& payload);

}  // namespace zt::wire
