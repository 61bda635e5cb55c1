/**
 * What the pageserver's non-page keys hold: the values that describe a data directory at an
 * LSN (which databases and relations exist, which SLRU segments and two-phase files), in
 * the encodings ingest writes, initdb import writes and the basebackup reads.
 *
 * <table>
 * <caption>Value of each metadata key (see {@code Key})</caption>
 * <tr><th>key</th><th>value</th></tr>
 * <tr><td>database directory</td><td>{@link DbDirectory}</td></tr>
 * <tr><td>relation directory (per database)</td><td>{@link RelDirectory}</td></tr>
 * <tr><td>relation size, SLRU segment size</td><td>4-byte little-endian block count ({@link BlockCount})</td></tr>
 * <tr><td>SLRU directory</td><td>{@link NumberSet} of segment numbers</td></tr>
 * <tr><td>two-phase directory</td><td>{@link NumberSet} of xids</td></tr>
 * <tr><td>two-phase file</td><td>the file's bytes as PostgreSQL writes it</td></tr>
 * <tr><td>relmapper file</td><td>the 524-byte {@code pg_filenode.map} ({@code sizeof(RelMapFile)} on PG17)</td></tr>
 * <tr><td>checkpoint</td><td>pgcore {@code CheckPoint} (88 bytes)</td></tr>
 * <tr><td>control file</td><td>initdb's 8192-byte {@code pg_control}</td></tr>
 * <tr><td>transaction ends</td><td>{@link XactEnds} (41 bytes)</td></tr>
 * </table>
 *
 * Directories are whole-value images (small, rewritten on change), each starting with a
 * format version byte.
 */
package dev.strata.pageserver.datadir;
