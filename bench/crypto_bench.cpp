// Throughput of the packet ciphers and the cost of identity generation, against OpenSSL's
// AES-256-GCM as the reference for what one core can do. Prints a table, then one JSON line.
// The machine is shared: the throughputs are measured in interleaved rounds and the best round of
// each is kept, so a burst of load elsewhere skews neither side of the ratio.
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <stdexcept>

#include "crypto/armor.hpp"
#include "crypto/identity.hpp"

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kPacketBytes = 1400;
constexpr double kMinSeconds = 0.5;

// Runs step in batches until at least kMinSeconds have passed; returns the seconds per step.
double secondsPerStep(const std::function<void()>& step) {
  size_t steps = 0;
  Clock::time_point start = Clock::now();
  double elapsed = 0;
  while (elapsed < kMinSeconds) {
    for (int i = 0; i < 256; ++i) step();
    steps += 256;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return elapsed / double(steps);
}

double megabytesPerSecond(const std::function<void()>& step) {
  return double(kPacketBytes) / secondsPerStep(step) / 1e6;
}

zt::Bytes samplePacket() {
  zt::Bytes p(kPacketBytes);
  zt::randomBytes(p);
  p[18] = 0;
  return p;
}

double armorMBps(zt::Cipher cipher) {
  zt::SymmetricKey key;
  zt::randomBytes(key);
  zt::PeerCipher sender(key), receiver(key);
  zt::Bytes packet = samplePacket();
  return megabytesPerSecond([&] {
    sender.armor(packet, cipher);
    if (!receiver.dearmor(packet)) throw std::runtime_error("benchmark packet did not authenticate");
  });
}

void ok(int rc) {
  if (rc != 1) throw std::runtime_error("OpenSSL failure in the GCM reference");
}

// AES-256-GCM encrypt then decrypt (tag checked) of the same buffer, contexts keyed once.
double opensslGcmMBps() {
  uint8_t key[32], iv[12] = {}, tag[16];
  zt::randomBytes(key);
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  ok(EVP_EncryptInit_ex(enc, EVP_aes_256_gcm(), nullptr, key, nullptr));
  ok(EVP_DecryptInit_ex(dec, EVP_aes_256_gcm(), nullptr, key, nullptr));
  zt::Bytes buffer = samplePacket();
  uint64_t counter = 0;
  double mbps = megabytesPerSecond([&] {
    std::memcpy(iv, &++counter, sizeof counter);
    int n = 0;
    ok(EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv));
    ok(EVP_EncryptUpdate(enc, buffer.data(), &n, buffer.data(), int(buffer.size())));
    ok(EVP_EncryptFinal_ex(enc, tag, &n));
    ok(EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_GET_TAG, 16, tag));
    ok(EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv));
    ok(EVP_DecryptUpdate(dec, buffer.data(), &n, buffer.data(), int(buffer.size())));
    ok(EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_TAG, 16, tag));
    ok(EVP_DecryptFinal_ex(dec, tag, &n));
  });
  EVP_CIPHER_CTX_free(enc);
  EVP_CIPHER_CTX_free(dec);
  return mbps;
}

double identityGenerateMs(int count) {
  Clock::time_point start = Clock::now();
  for (int i = 0; i < count; ++i) zt::Identity::generate();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / count;
}

}  // namespace

int main() {
  constexpr int kRounds = 3;
  double generateMs = identityGenerateMs(10);
  double suite1 = 0, suite3 = 0, gcm = 0;
  for (int round = 0; round < kRounds; ++round) {
    suite1 = std::max(suite1, armorMBps(zt::Cipher::Salsa2012Poly1305));
    suite3 = std::max(suite3, armorMBps(zt::Cipher::AesGmacSiv));
    gcm = std::max(gcm, opensslGcmMBps());
  }
  std::printf("%-50s %10s\n", "measure (1400-byte packets, one core, best of 3)", "value");
  std::printf("%-50s %7.1f ms\n", "Identity::generate, mean of 10", generateMs);
  std::printf("%-50s %7.1f MB/s\n", "suite 1 Salsa20/12+Poly1305 armor+dearmor", suite1);
  std::printf("%-50s %7.1f MB/s\n", "suite 3 AES-GMAC-SIV armor+dearmor", suite3);
  std::printf("%-50s %7.1f MB/s\n", "OpenSSL AES-256-GCM encrypt+decrypt", gcm);
  std::printf("%-50s %7.2f\n", "suite 3 / GCM", suite3 / gcm);
  std::printf("{\"identityGenerateMs\": %.1f, \"suite1MBps\": %.1f, \"suite3MBps\": %.1f, "
              "\"opensslGcmMBps\": %.1f, \"suite3VsGcm\": %.3f}\n",
              generateMs, suite1, suite3, gcm, suite3 / gcm);
}
