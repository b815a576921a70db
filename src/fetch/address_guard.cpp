#include "feedmerge/fetch/address_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace feedmerge::fetch {

namespace {

AddressClass classify_v4(std::uint32_t a) {  // host byte order
  auto in = [a](std::uint32_t network, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == network;
  };
  if (a == 0xA9FEA9FE || a == 0x646464C8) return AddressClass::cloud_metadata;
  if (in(0x7F000000, 8)) return AddressClass::loopback;
  if (in(0xA9FE0000, 16)) return AddressClass::link_local;
  if (in(0x0A000000, 8) || in(0xAC100000, 12) || in(0xC0A80000, 16) || in(0x64400000, 10) ||
      in(0x00000000, 8))
    return AddressClass::private_network;
  if (in(0xE0000000, 4) || in(0xF0000000, 4) || in(0xC0000000, 24) || in(0xC0000200, 24) ||
      in(0xC6336400, 24) || in(0xCB007100, 24) || in(0xC6120000, 15))
    return AddressClass::other_special;
  return AddressClass::public_address;
}

AddressClass classify_v6(const std::array<std::uint8_t, 16>& b) {
  // fd00:ec2::254, AWS's IPv6 metadata address.
  static constexpr std::array<std::uint8_t, 16> kMetadata = {
      0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (b == kMetadata) return AddressClass::cloud_metadata;
  bool zero_prefix = true;  // the first 80 bits
  for (int i = 0; i < 10; ++i)
    zero_prefix = zero_prefix && b[i] == 0;
  const auto v4 = [&b] {
    return std::uint32_t(b[12]) << 24 | std::uint32_t(b[13]) << 16 | std::uint32_t(b[14]) << 8 |
           b[15];
  };
  if (zero_prefix && b[10] == 0xff && b[11] == 0xff) return classify_v4(v4());  // ::ffff:a.b.c.d
  if (zero_prefix && b[10] == 0 && b[11] == 0) {
    const std::uint32_t low = v4();
    if (low == 1) return AddressClass::loopback;         // ::1
    if (low == 0) return AddressClass::private_network;  // ::, "this host"
    return classify_v4(low);                             // deprecated ::a.b.c.d
  }
  if ((b[0] & 0xfe) == 0xfc) return AddressClass::private_network;             // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressClass::link_local;  // fe80::/10
  if (b[0] == 0xff) return AddressClass::other_special;                        // multicast
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)            // 2001:db8::/32
    return AddressClass::other_special;
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {  // NAT64 64:ff9b::/96
    return classify_v4(v4());
  }
  return AddressClass::public_address;
}

}  // namespace

AddressClass classify_address(const sockaddr* address) {
  if (address == nullptr) return AddressClass::other_special;
  if (address->sa_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, address, sizeof v4);
    return classify_v4(ntohl(v4.sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, address, sizeof v6);
    std::array<std::uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &v6.sin6_addr, 16);
    return classify_v6(bytes);
  }
  return AddressClass::other_special;
}

const char* to_string(AddressClass kind) {
  switch (kind) {
    case AddressClass::public_address:
      return "public";
    case AddressClass::loopback:
      return "loopback";
    case AddressClass::private_network:
      return "private";
    case AddressClass::link_local:
      return "link-local";
    case AddressClass::cloud_metadata:
      return "cloud metadata";
    case AddressClass::other_special:
      return "special-purpose";
  }
  return "unknown";
}

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address == nullptr) return {};
  if (address->sa_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, address, sizeof v4);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
  } else if (address->sa_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, address, sizeof v6);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
  }
  return text;
}

}  // namespace feedmerge::fetch
