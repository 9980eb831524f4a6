// Checked MPI calls and the few transfers the dispatcher needs, for any size: large
// buffers go in chunks because MPI counts are ints. Every failed MPI call is
// unrecoverable: abort_job prints the call, the rank and MPI's reason, then MPI_Abort.
#pragma once

#include <mpi.h>

#include <cstddef>
#include <string>
#include <vector>

namespace libextract {
namespace dispatch {

// Prints "libextract: rank R: fatal: MESSAGE; aborting the job" and ends every rank.
[[noreturn]] void abort_job(const std::string& message);

// Aborts the job when `status` is not MPI_SUCCESS (communicators use MPI_ERRORS_RETURN).
void check(int status, const char* call);

int comm_rank(MPI_Comm comm);
int comm_size(MPI_Comm comm);

// Root's bytes to every rank of `comm` (the others' vectors are resized).
void bcast_bytes(std::vector<unsigned char>& bytes, int root, MPI_Comm comm);
// `count` doubles at `data` from root to every rank (each rank passes its own buffer).
void bcast_doubles(double* data, std::size_t count, int root, MPI_Comm comm);
// Point to point, for the results gathered to a group's root.
void send_bytes(const std::vector<unsigned char>& bytes, int dest, int tag, MPI_Comm comm);
std::vector<unsigned char> recv_bytes(int source, int tag, MPI_Comm comm);
// Every rank's bytes, in rank order, on `root` (empty elsewhere).
std::vector<std::vector<unsigned char>> gather_bytes(const std::vector<unsigned char>& mine, int root,
                                                     MPI_Comm comm);

int allreduce_max(int value, MPI_Comm comm);
int allreduce_min(int value, MPI_Comm comm);

}  // namespace dispatch
}  // namespace libextract
