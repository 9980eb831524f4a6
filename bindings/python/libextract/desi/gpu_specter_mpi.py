"""``gpu_specter.mpi`` on libextract: the three IO coordinators desispec uses."""

__all__ = ["NoMPIIOCoordinator", "SerialIOCoordinator", "ParallelIOCoordinator"]


class NoMPIIOCoordinator:
    """No MPI: rank 0 reads, processes and writes; ``work_comm`` is None."""

    def __init__(self):
        self.comm = None
        self.rank = 0
        self.size = 1
        self.work_comm = None

    @staticmethod
    def is_reader(rank):
        return rank == 0

    @staticmethod
    def is_writer(rank):
        return rank == 0

    @staticmethod
    def is_worker(rank):
        return rank == 0

    @staticmethod
    def is_worker_root(rank):
        return rank == 0

    def read(self, func, payload):
        return func()

    def process(self, func, payload):
        return func()

    def write(self, func, payload):
        return func(payload)


class SerialIOCoordinator:
    """Rank 0 reads and writes, every rank processes (``work_comm = comm``); a rank that
    does not do a step gets ``payload`` back."""

    def __init__(self, comm):
        self.comm = comm
        self.rank = comm.rank
        self.size = comm.size
        self.work_comm = comm

    @staticmethod
    def is_reader(rank):
        return rank == 0

    @staticmethod
    def is_writer(rank):
        return rank == 0

    @staticmethod
    def is_worker(rank):
        return True

    @staticmethod
    def is_worker_root(rank):
        return rank == 0

    def read(self, func, payload):
        return func() if self.is_reader(self.rank) else payload

    def process(self, func, payload):
        return func()

    def write(self, func, payload):
        return func(payload) if self.is_writer(self.rank) else payload


class ParallelIOCoordinator:
    """At least 3 ranks: rank 0 reads and sends what it read to rank 2, the workers'
    root; ranks 2.. process on ``work_comm`` (which leaves out ranks 0 and 1); rank 1
    writes what the workers' root sends it."""

    reader, writer, worker_root = 0, 1, 2

    def __init__(self, comm):
        if comm.size < 3:
            raise ValueError(f"ParallelIOCoordinator needs at least 3 ranks, got {comm.size}")
        self.comm = comm
        self.rank = comm.rank
        self.size = comm.size
        color = 1 if self.is_worker(self.rank) else 0
        work = comm.Split(color=color, key=self.rank)
        self.work_comm = work if color == 1 else None

    @classmethod
    def is_reader(cls, rank):
        return rank == cls.reader

    @classmethod
    def is_writer(cls, rank):
        return rank == cls.writer

    @classmethod
    def is_worker(cls, rank):
        return rank >= cls.worker_root

    @classmethod
    def is_worker_root(cls, rank):
        return rank == cls.worker_root

    def read(self, func, payload):
        if self.is_reader(self.rank):
            result = func()
            self.comm.send(result, dest=self.worker_root)
            return payload
        if self.is_worker_root(self.rank):
            return self.comm.recv(source=self.reader)
        return payload

    def process(self, func, payload):
        if self.is_worker(self.rank):
            result = func()
            if self.is_worker_root(self.rank):
                self.comm.send(result, dest=self.writer)
            return result
        if self.is_writer(self.rank):
            return self.comm.recv(source=self.worker_root)
        return payload

    def write(self, func, payload):
        return func(payload) if self.is_writer(self.rank) else payload
