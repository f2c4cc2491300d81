using System.Buffers.Binary;
using System.Net.Sockets;
using static OpenSsl.Interop.LibSsl;

namespace OpenSsl.Dtls;

/// <summary>
/// Fast failure of a PSK handshake whose keys differ. DTLS silently drops records that fail to
/// decrypt (RFC 6347 §4.1.2.7), so a server with the wrong key never sees the client's Finished
/// and both sides would retransmit until the handshake timeout. The server watches the record
/// headers (message callback): once the client has switched cipher (ChangeCipherSpec) and an
/// epoch-1 record arrived that did not decrypt to a handshake message, the keys differ. It then
/// fails at once and tells the client with a plaintext bad_record_mac alert in epoch 0, which the
/// client still reads because it has not yet seen the server's ChangeCipherSpec.
/// </summary>
public sealed partial class DtlsSession
{
    private const byte AlertBadRecordMac = 20;

    private long _epoch0WriteSequence = -1;
    private bool _peerChangedCipher;
    private int _epoch1RecordsRead;
    private int _epoch1MessagesRead;

    /// <summary>Called by the message callback (PSK servers only) for every record and message during the handshake.</summary>
    internal void ObserveMessage(bool written, int contentType, ReadOnlySpan<byte> message)
    {
        if (_state != SessionState.Handshaking)
        {
            return;
        }

        if (contentType == SSL3_RT_HEADER && message.Length >= DTLS1_RT_HEADER_LENGTH)
        {
            ushort epoch = BinaryPrimitives.ReadUInt16BigEndian(message[3..]);
            long sequence = (long)(BinaryPrimitives.ReadUInt64BigEndian(message[3..]) & 0xFFFF_FFFF_FFFF);
            if (written && epoch == 0)
            {
                _epoch0WriteSequence = Math.Max(_epoch0WriteSequence, sequence);
            }
            else if (!written && epoch == 1 && _peerChangedCipher)
            {
                _epoch1RecordsRead++;
            }
        }
        else if (!written && contentType == SSL3_RT_CHANGE_CIPHER_SPEC)
        {
            _peerChangedCipher = true;
        }
        else if (!written && contentType == SSL3_RT_HANDSHAKE && _peerChangedCipher)
        {
            _epoch1MessagesRead++;
        }
    }

    /// <summary>After a handshake step that did not finish: true if the peer's encrypted Finished failed to decrypt.</summary>
    private bool PeerKeyDiffers() =>
        IsServer && _peerChangedCipher && _epoch1RecordsRead > _epoch1MessagesRead && _epoch0WriteSequence >= 0;

    private DtlsException FailOnKeyMismatch()
    {
        // Epoch 0 (the top two bytes) and the next sequence number of our epoch-0 records.
        SendPlaintextAlert(AlertBadRecordMac, (ulong)(_epoch0WriteSequence + 1));
        var sent = new DtlsAlert(AlertBadRecordMac, "bad record mac", IsFatal: true, Sent: true);
        return new DtlsException($"The DTLS handshake with {PeerName} failed: the client's Finished message did not decrypt, so the pre-shared keys differ", sent, null);
    }

    private const int AlertInternalError = 80;

    /// <summary>
    /// Sends a fatal alert in a plaintext (epoch 0) record, which a peer still in the handshake reads:
    /// it has not yet seen our ChangeCipherSpec. The default sequence number lies far ahead of any our
    /// handshake used, so the peer's replay window (RFC 6347 §4.1.2.6) takes it as new.
    /// </summary>
    private void SendPlaintextAlert(byte description, ulong sequence = 1UL << 40)
    {
        Span<byte> alert = stackalloc byte[DTLS1_RT_HEADER_LENGTH + 2];
        alert[0] = SSL3_RT_ALERT;
        BinaryPrimitives.WriteUInt16BigEndian(alert[1..], DTLS1_2_VERSION);
        BinaryPrimitives.WriteUInt64BigEndian(alert[3..], sequence);
        BinaryPrimitives.WriteUInt16BigEndian(alert[11..], 2);
        alert[13] = 2; // fatal
        alert[14] = description;
        try
        {
            SendDatagram(alert);
        }
        catch (Exception e) when (e is SocketException or DtlsException)
        {
            // The peer then learns of it at its handshake timeout.
        }
    }
}
