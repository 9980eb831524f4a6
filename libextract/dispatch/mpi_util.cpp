// Checked MPI calls and chunked transfers (see mpi_util.hpp).
#include "mpi_util.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace libextract {
namespace dispatch {

namespace {

// Well below INT_MAX elements, so every chunk's count fits an int.
constexpr std::size_t chunk_bytes = std::size_t(1) << 30;
constexpr std::size_t chunk_doubles = chunk_bytes / sizeof(double);
constexpr int gather_tag = 0x6741;  // gather_bytes' own tag, apart from callers' tags

}  // namespace

void abort_job(const std::string& message) {
  int rank = -1, initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "libextract: rank %d: fatal: %s; aborting the job\n", rank, message.c_str());
  std::fflush(stderr);
  if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, 3);
  std::_Exit(3);
}

void check(int status, const char* call) {
  if (status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(status, text, &length);
  abort_job(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

int comm_rank(MPI_Comm comm) {
  int rank = 0;
  check(MPI_Comm_rank(comm, &rank), "MPI_Comm_rank");
  return rank;
}

int comm_size(MPI_Comm comm) {
  int size = 0;
  check(MPI_Comm_size(comm, &size), "MPI_Comm_size");
  return size;
}

void bcast_bytes(std::vector<unsigned char>& bytes, int root, MPI_Comm comm) {
  std::uint64_t size = bytes.size();
  check(MPI_Bcast(&size, 1, MPI_UINT64_T, root, comm), "MPI_Bcast");
  if (comm_rank(comm) != root) bytes.resize(static_cast<std::size_t>(size));
  for (std::size_t at = 0; at < size; at += chunk_bytes) {
    const int n = static_cast<int>(std::min<std::size_t>(chunk_bytes, size - at));
    check(MPI_Bcast(bytes.data() + at, n, MPI_BYTE, root, comm), "MPI_Bcast");
  }
}

void bcast_doubles(double* data, std::size_t count, int root, MPI_Comm comm) {
  for (std::size_t at = 0; at < count; at += chunk_doubles) {
    const int n = static_cast<int>(std::min<std::size_t>(chunk_doubles, count - at));
    check(MPI_Bcast(data + at, n, MPI_DOUBLE, root, comm), "MPI_Bcast");
  }
}

void send_bytes(const std::vector<unsigned char>& bytes, int dest, int tag, MPI_Comm comm) {
  const std::uint64_t size = bytes.size();
  check(MPI_Send(&size, 1, MPI_UINT64_T, dest, tag, comm), "MPI_Send");
  for (std::size_t at = 0; at < size; at += chunk_bytes) {
    const int n = static_cast<int>(std::min<std::size_t>(chunk_bytes, size - at));
    check(MPI_Send(bytes.data() + at, n, MPI_BYTE, dest, tag, comm), "MPI_Send");
  }
}

std::vector<unsigned char> recv_bytes(int source, int tag, MPI_Comm comm) {
  std::uint64_t size = 0;
  check(MPI_Recv(&size, 1, MPI_UINT64_T, source, tag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  for (std::size_t at = 0; at < size; at += chunk_bytes) {
    const int n = static_cast<int>(std::min<std::size_t>(chunk_bytes, size - at));
    check(MPI_Recv(bytes.data() + at, n, MPI_BYTE, source, tag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
  }
  return bytes;
}

std::vector<std::vector<unsigned char>> gather_bytes(const std::vector<unsigned char>& mine, int root,
                                                     MPI_Comm comm) {
  const int rank = comm_rank(comm), size = comm_size(comm);
  std::vector<std::vector<unsigned char>> all;
  if (rank != root) {
    send_bytes(mine, root, gather_tag, comm);
    return all;
  }
  all.resize(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r)
    all[static_cast<std::size_t>(r)] = r == root ? mine : recv_bytes(r, gather_tag, comm);
  return all;
}

int allreduce_max(int value, MPI_Comm comm) {
  int result = 0;
  check(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MAX, comm), "MPI_Allreduce");
  return result;
}

int allreduce_min(int value, MPI_Comm comm) {
  int result = 0;
  check(MPI_Allreduce(&value, &result, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  return result;
}

}  // namespace dispatch
}  // namespace libextract
