package audit

// ObserveChunks makes s call f with the size of every chunk it reads while
// sealing a block (tests assert that a block is read in bounded chunks).
func ObserveChunks(s *Sealer, f func(rows int)) { s.onChunk = f }
