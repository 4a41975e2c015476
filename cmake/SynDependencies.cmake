# Every dependency comes from a Debian 12 package (scripts/install-deps installs them).
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)   # nlohmann-json3-dev
find_package(tl-expected REQUIRED)          # libexpected-dev
find_package(cppzmq REQUIRED)               # cppzmq-dev + libzmq3-dev
find_package(msgpack REQUIRED)              # libmsgpack-cxx-dev: target msgpackc-cxx
find_package(absl REQUIRED)                 # libabsl-dev: flat_hash_map for the tables
