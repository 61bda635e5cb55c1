/**
 * PostgreSQL wire protocol 3.0 as Netty codecs, for the proxy, safekeepers and pageserver.
 *
 * <p>Bytes enter through {@link dev.strata.pgcore.protocol.FrontendMessageDecoder} (server
 * side) or {@link dev.strata.pgcore.protocol.BackendMessageDecoder} (client side) and leave
 * as records of the sealed {@link dev.strata.pgcore.protocol.FrontendMessage} /
 * {@link dev.strata.pgcore.protocol.BackendMessage} hierarchies; the encoders do the
 * reverse. {@link dev.strata.pgcore.protocol.PgServerCodec} and
 * {@link dev.strata.pgcore.protocol.PgClientCodec} pair them per side. A server pipeline:
 * <pre>
 *   socket -> [SslHandler] -> PgServerCodec (decode | encode) -> session handler (pure logic)
 * </pre>
 * Decoders enforce {@link dev.strata.pgcore.protocol.ProtocolLimits} before buffering and
 * reject malformed input with {@link dev.strata.pgcore.protocol.ProtocolException}; the
 * session handler answers it with {@code toErrorResponse()} and closes. Replication
 * messages inside CopyData are in {@code .replication}; password and SCRAM logic in
 * {@code .auth}.
 */
package dev.strata.pgcore.protocol;
