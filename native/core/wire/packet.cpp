#include "wire/packet.hpp"

namespace zt::wire {

const char* verbName(uint8_t verb) {
  switch (Verb(verb & 0x1f)) {
    case Verb::Nop: return "NOP";
    case Verb::Hello: return "HELLO";
    case Verb::Error: return "ERROR";
    case Verb::Ok: return "OK";
    case Verb::Whois: return "WHOIS";
    case Verb::Rendezvous: return "RENDEZVOUS";
    case Verb::Frame: return "FRAME";
    case Verb::ExtFrame: return "EXT_FRAME";
    case Verb::Echo: return "ECHO";
    case Verb::MulticastLike: return "MULTICAST_LIKE";
    case Verb::NetworkCredentials: return "NETWORK_CREDENTIALS";
    case Verb::NetworkConfigRequest: return "NETWORK_CONFIG_REQUEST";
    case Verb::NetworkConfig: return "NETWORK_CONFIG";
    case Verb::MulticastGather: return "MULTICAST_GATHER";
    case Verb::MulticastFrame: return "MULTICAST_FRAME";
    case Verb::PushDirectPaths: return "PUSH_DIRECT_PATHS";
    case Verb::Ack: return "ACK";
    case Verb::QosMeasurement: return "QOS_MEASUREMENT";
    case Verb::UserMessage: return "USER_MESSAGE";
    case Verb::RemoteTrace: return "REMOTE_TRACE";
    case Verb::PathNegotiationRequest: return "PATH_NEGOTIATION_REQUEST";
  }
  return "UNKNOWN";
}

const char* errorCodeName(uint8_t code) {
  switch (ErrorCode(code)) {
    case ErrorCode::None: return "NONE";
    case ErrorCode::InvalidRequest: return "INVALID_REQUEST";
    case ErrorCode::BadProtocolVersion: return "BAD_PROTOCOL_VERSION";
    case ErrorCode::ObjNotFound: return "OBJ_NOT_FOUND";
    case ErrorCode::IdentityCollision: return "IDENTITY_COLLISION";
    case ErrorCode::UnsupportedOperation: return "UNSUPPORTED_OPERATION";
    case ErrorCode::NeedMembershipCertificate: return "NEED_MEMBERSHIP_CERTIFICATE";
    case ErrorCode::NetworkAccessDenied: return "NETWORK_ACCESS_DENIED";
    case ErrorCode::UnwantedMulticast: return "UNWANTED_MULTICAST";
    case ErrorCode::NetworkAuthenticationRequired: return "NETWORK_AUTHENTICATION_REQUIRED";
  }
  return "UNKNOWN";
}

DatagramKind classify(ByteView datagram) {
  if (datagram.size() < kMinFragmentLength) return DatagramKind::Short;
  if (datagram[kSourceOffset] == kFragmentIndicator) return DatagramKind::Fragment;
  // 16..27 bytes that are not a fragment cannot hold a packet header either.
  return datagram.size() < kMinPacketLength ? DatagramKind::Short : DatagramKind::Packet;
}

}  // namespace zt::wire
