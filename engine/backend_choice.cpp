#include "engine/backend_choice.hpp"

namespace engine {

const char* to_string(Vmm vmm) {
  switch (vmm) {
    case Vmm::Qemu:
      return "qemu";
    case Vmm::Vz:
      return "vz";
  }
  return "?";
}

Vmm host_default_vmm() {
#ifdef __APPLE__
  return Vmm::Vz;
#else
  return Vmm::Qemu;
#endif
}

std::string backend_refusal(Backend backend) {
  switch (backend) {
    case Backend::Auto:
      return {};
    case Backend::Qemu:
#ifdef __APPLE__
      return "is not supported on macOS (QEMU there has no vsock and no virtio-fs server): use \"auto\" or \"vz\"";
#else
      return {};
#endif
    case Backend::Vz:
#ifdef __APPLE__
      return {};
#else
      return "needs macOS: Virtualization.framework exists only there, and this build is for another host: "
             "use \"auto\" or \"qemu\"";
#endif
    case Backend::Firecracker:
    case Backend::Gvisor: {
      const char* here = host_default_vmm() == Vmm::Vz ? "\"auto\" or \"vz\"" : "\"auto\" or \"qemu\"";
      return std::string("is not implemented in this build (it would silently boot ") +
             (host_default_vmm() == Vmm::Vz ? "Virtualization.framework" : "QEMU") + " instead): use " + here;
    }
  }
  return "is unknown";
}

util::Result<Vmm> resolve_backend(Backend backend) {
  if (std::string why = backend_refusal(backend); !why.empty())
    return util::make_error(util::ErrorCode::Unsupported,
                            std::string("sandbox.backend \"") + to_string(backend) + "\" " + why);
  switch (backend) {
    case Backend::Qemu:
      return Vmm::Qemu;
    case Backend::Vz:
      return Vmm::Vz;
    default:
      return host_default_vmm();
  }
}

}  // namespace engine
