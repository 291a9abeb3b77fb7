# Every dependency is a Debian package found through pkg-config or its CMake config package.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(B2 REQUIRED IMPORTED_TARGET libb2)
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET libcrypto>=3.0)
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing>=2.3)
pkg_check_modules(URCU REQUIRED IMPORTED_TARGET liburcu-qsbr)
pkg_check_modules(YAML REQUIRED IMPORTED_TARGET yaml-0.1)
pkg_check_modules(MNL REQUIRED IMPORTED_TARGET libmnl)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c>=1.3)
find_program(NY_PROTOC_C protoc-c REQUIRED) # Debian protobuf-c-compiler
pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)            # IPC's JSON lines
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd>=0.9.70) # observability HTTP
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl>=7.85) # bundle repos and HTTP health checks over http(s) (CURLOPT_PROTOCOLS_STR)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares>=1.16) # endpoint names, SRV (ares_getaddrinfo: 1.16)
find_package(mimalloc REQUIRED CONFIG)
if(NY_BUILD_TESTS)
  pkg_check_modules(CRITERION REQUIRED IMPORTED_TARGET criterion)
endif()
