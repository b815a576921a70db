// Which kind of network an IP address belongs to, for the fetcher's address guard: a feed on
// the public internet must not be able to send the daemon (by redirect or by a DNS answer) to
// the machine itself, the local network or a cloud metadata service (SSRF). Owned by fetch;
// public because config's OPML import judges hosts by the same rules. Pure functions.
#pragma once

#include <string>

struct sockaddr;

namespace feedmerge::fetch {

enum class AddressClass {
  public_address,
  loopback,         // 127.0.0.0/8, ::1
  private_network,  // 10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7, 0/8, ::
  link_local,       // 169.254/16, fe80::/10
  cloud_metadata,   // 169.254.169.254, 100.100.100.200, fd00:ec2::254
  other_special,    // multicast, broadcast, reserved, documentation ranges
};

// IPv4-mapped and IPv4-compatible IPv6 addresses are judged as the IPv4 address they carry.
AddressClass classify_address(const sockaddr* address);
const char* to_string(AddressClass kind);
// "10.1.2.3" or "fe80::1"; "" for a family that is neither.
std::string address_text(const sockaddr* address);

}  // namespace feedmerge::fetch
