#include "wire/fragment.hpp"

#include <algorithm>
#include <cstring>

namespace zt::wire {

Result<FragmentHeader> FragmentHeader::parse(ByteView datagram) {
  if (datagram.size() < kMinFragmentLength) return fail("fragment: shorter than its header");
  if (datagram[kSourceOffset] != kFragmentIndicator) return fail("fragment: no 0xff indicator at byte 13");
  FragmentHeader h;
  h.packetId = loadU64(datagram.data());
  h.destination = Address{loadU40(datagram.data() + kDestinationOffset)};
  h.total = datagram[14] >> 4;
  h.number = datagram[14] & 0x0f;
  h.hops = datagram[15] & 7;
  if (h.total < 2 || h.total > kMaxFragments) return fail("fragment: total " + std::to_string(h.total) + " not in 2..7");
  if (h.number < 1 || h.number >= h.total)
    return fail("fragment: number " + std::to_string(h.number) + " not in 1.." + std::to_string(h.total - 1));
  return h;
}

void FragmentHeader::write(uint8_t out[kFragmentHeaderLength]) const {
  storeU64(out, packetId);
  storeU40(out + kDestinationOffset, destination.value);
  out[kSourceOffset] = kFragmentIndicator;
  out[14] = uint8_t(total << 4 | number);
  out[15] = hops & 7;
}

Result<size_t> datagramCount(size_t packetLength, size_t mtu) {
  if (packetLength <= mtu) return size_t(1);
  if (mtu <= kFragmentHeaderLength || mtu < kMinPacketLength) return fail("fragment: mtu " + std::to_string(mtu) + " too small");
  size_t chunk = mtu - kFragmentHeaderLength;
  size_t count = 1 + (packetLength - mtu + chunk - 1) / chunk;
  if (count > kMaxFragments)
    return fail("fragment: " + std::to_string(packetLength) + " bytes need " + std::to_string(count) + " datagrams at mtu " +
                std::to_string(mtu) + ", more than 7");
  return count;
}

Result<size_t> fragmentPacket(ByteView packet, size_t mtu, FunctionRef<void(ByteView)> emit) {
  if (packet.size() < kMinPacketLength) return fail("fragment: packet shorter than its header");
  auto count = datagramCount(packet.size(), mtu);
  if (!count) return count;
  if (*count == 1) {
    emit(packet);
    return count;
  }
  if (!fragmented(packet)) return fail("fragment: packet needs fragmenting but lacks the fragmented flag");
  emit(packet.first(mtu));
  FragmentHeader header{packetId(packet), destination(packet), uint8_t(*count), 0, uint8_t(hops(packet))};
  std::array<uint8_t, kMaxPacketLength> datagram;  // a fragment is always shorter than its packet
  size_t chunk = mtu - kFragmentHeaderLength;
  for (size_t offset = mtu; offset < packet.size(); offset += chunk) {
    ++header.number;
    size_t n = std::min(chunk, packet.size() - offset);
    header.write(datagram.data());
    std::memcpy(datagram.data() + kFragmentHeaderLength, packet.data() + offset, n);
    emit(ByteView(datagram.data(), kFragmentHeaderLength + n));
  }
  return count;
}

Result<size_t> fragmentPacket(ByteView packet, size_t mtu, std::span<MutableByteView> out) {
  auto count = datagramCount(packet.size(), mtu);
  if (!count) return count;
  if (out.size() < *count) return fail("fragment: " + std::to_string(*count) + " datagrams but " + std::to_string(out.size()) + " buffers");
  for (size_t i = 0; i < *count; ++i)
    if (out[i].size() < std::min(mtu, packet.size())) return fail("fragment: output buffer smaller than the mtu");
  size_t index = 0;
  return fragmentPacket(packet, mtu, [&](ByteView datagram) {
    std::memcpy(out[index].data(), datagram.data(), datagram.size());
    out[index] = out[index].first(datagram.size());
    ++index;
  });
}

// One packet being reassembled: pieces are stored back to back in arrival order; assembly puts
// them in number order.
struct Reassembler::Slot {
  bool used = false;
  uint64_t packetId = 0;
  int64_t created = 0;
  uint8_t total = 0;     // 0 until a fragment says it
  uint8_t received = 0;  // bit n: piece n held (bit 0: the head)
  size_t stored = 0;
  std::array<uint16_t, kMaxFragments> offset{}, length{};
  std::array<uint8_t, kMaxPacketLength> buffer;

  void reset(uint64_t id, int64_t now) {
    used = true;
    packetId = id;
    created = now;
    total = received = 0;
    stored = 0;
  }
  bool expired(int64_t now) const { return now - created > kTimeoutMs; }
  bool complete() const { return total && received == (1u << total) - 1; }
};

Reassembler::Reassembler()
    : slots_(std::make_unique_for_overwrite<Slot[]>(kSlots)),
      output_(std::make_unique_for_overwrite<std::array<uint8_t, kMaxPacketLength>>()) {}
Reassembler::~Reassembler() = default;

Reassembler::Slot* Reassembler::slotFor(uint64_t id, int64_t now) {
  // Otherwise take a free (or abandoned) slot, else recycle the oldest.
  auto rank = [now](const Slot& s) { return std::pair(s.used && !s.expired(now), s.created); };
  Slot* victim = &slots_[0];
  for (size_t i = 0; i < kSlots; ++i) {
    Slot& s = slots_[i];
    if (s.used && s.packetId == id) {
      if (s.expired(now)) s.reset(id, now);  // a stale attempt: start over with this piece
      return &s;
    }
    if (rank(s) < rank(*victim)) victim = &s;
  }
  victim->reset(id, now);
  return victim;
}

std::optional<MutableByteView> Reassembler::store(Slot& slot, unsigned number, ByteView piece) {
  if (slot.received & (1u << number)) return std::nullopt;  // duplicate
  if (slot.stored + piece.size() > kMaxPacketLength) {
    slot.used = false;  // larger than any legal packet: give the whole attempt up
    return std::nullopt;
  }
  std::memcpy(slot.buffer.data() + slot.stored, piece.data(), piece.size());
  slot.offset[number] = uint16_t(slot.stored);
  slot.length[number] = uint16_t(piece.size());
  slot.stored += piece.size();
  slot.received |= uint8_t(1u << number);
  if (!slot.complete()) return std::nullopt;
  return assemble(slot);
}

MutableByteView Reassembler::assemble(Slot& slot) {
  size_t n = 0;
  for (unsigned i = 0; i < slot.total; ++i) {
    std::memcpy(output_->data() + n, slot.buffer.data() + slot.offset[i], slot.length[i]);
    n += slot.length[i];
  }
  slot.used = false;
  return MutableByteView(output_->data(), n);
}

std::optional<MutableByteView> Reassembler::addHead(ByteView head, int64_t now) {
  if (classify(head) != DatagramKind::Packet || !fragmented(head)) return std::nullopt;
  return store(*slotFor(packetId(head), now), 0, head);
}

std::optional<MutableByteView> Reassembler::addFragment(ByteView fragment, int64_t now) {
  auto header = FragmentHeader::parse(fragment);
  if (!header) return std::nullopt;
  Slot& slot = *slotFor(header->packetId, now);
  if (slot.total && slot.total != header->total) return std::nullopt;  // contradicts earlier pieces
  slot.total = header->total;
  return store(slot, header->number, fragment.subspan(kFragmentHeaderLength));
}

std::optional<MutableByteView> Reassembler::add(ByteView datagram, int64_t now) {
  switch (classify(datagram)) {
    case DatagramKind::Packet: return addHead(datagram, now);
    case DatagramKind::Fragment: return addFragment(datagram, now);
    case DatagramKind::Short: break;
  }
  return std::nullopt;
}

size_t Reassembler::pending() const {
  size_t n = 0;
  for (size_t i = 0; i < kSlots; ++i) n += slots_[i].used;
  return n;
}

}  // namespace zt::wire
