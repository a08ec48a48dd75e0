# The agent's sources, shared by the native build (guest/CMakeLists.txt) and the
# arm64 cross build (guest/agent/cross): paths relative to the project root.
set(MATCHLOCK_PROTOCOL_SOURCES
  guest/protocol/client.cpp
  guest/protocol/client_channel.cpp
  guest/protocol/client_exec.cpp
  guest/protocol/control_transport.cpp
  guest/protocol/exec_channel.cpp
  guest/protocol/file_channels.cpp
  guest/protocol/frame.cpp
  guest/protocol/fuse_channel.cpp
  guest/protocol/fuse_snapshot.cpp
  guest/protocol/guest_channel.cpp
  guest/protocol/messages.cpp
  guest/protocol/server.cpp
  guest/protocol/spawn.cpp
  guest/protocol/users.cpp
)
# Only util's fd, fs and signal-record helpers: util as a whole pulls in OpenSSL, which a static init has no use for.
set(MATCHLOCK_AGENT_UTIL_SOURCES util/fd.cpp util/fs.cpp util/signal_fd.cpp)
set(MATCHLOCK_AGENT_SOURCES
  guest/agent/entropy.cpp
  guest/agent/fuse_mount.cpp
  guest/agent/layer_disks.cpp
  guest/agent/main.cpp
  guest/agent/net_config.cpp
  guest/agent/pid1.cpp
  guest/agent/vm_system.cpp
  guest/agent/vsock_control.cpp
)
# Fully static (no NSS, no getaddrinfo, no getpwnam), stripped outside Debug builds.
set(MATCHLOCK_AGENT_LINK_OPTIONS -static -static-libstdc++ -static-libgcc $<$<NOT:$<CONFIG:Debug>>:-s>)
