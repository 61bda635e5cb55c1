/**
 * PostgreSQL 17 WAL decoding. Bytes enter a {@link dev.strata.pgcore.wal.WalDecoder} (fed by a
 * replication stream, or by {@link dev.strata.pgcore.wal.WalReader} over {@code pg_wal} segment
 * files); it checks page headers, assembles records across pages and segments, verifies CRCs
 * and prev-links, and yields {@link dev.strata.pgcore.wal.DecodedRecord}s with their
 * {@link dev.strata.pgcore.wal.BlockReference}s, whose full-page images restore to whole pages.
 * Bad WAL is a {@link dev.strata.pgcore.wal.WalDecodeException} naming the LSN.
 */
package dev.strata.pgcore.wal;
