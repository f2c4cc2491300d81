namespace OpenSslDtls.Samples.Tests.Coap;

/// <summary>OpenSSL's names of the suites these tests force, to the IANA names a session reports and peers print.</summary>
internal static class IanaNames
{
    public static string Of(string openSslName) => openSslName switch
    {
        "PSK-AES128-CCM8" => "TLS_PSK_WITH_AES_128_CCM_8",
        "PSK-AES256-CCM8" => "TLS_PSK_WITH_AES_256_CCM_8",
        "PSK-AES128-CCM" => "TLS_PSK_WITH_AES_128_CCM",
        "PSK-AES256-CCM" => "TLS_PSK_WITH_AES_256_CCM",
        "PSK-AES128-GCM-SHA256" => "TLS_PSK_WITH_AES_128_GCM_SHA256",
        "PSK-AES256-GCM-SHA384" => "TLS_PSK_WITH_AES_256_GCM_SHA384",
        "ECDHE-PSK-CHACHA20-POLY1305" => "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256",
        "ECDHE-ECDSA-AES128-CCM8" => "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
        "ECDHE-ECDSA-AES128-GCM-SHA256" => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384" => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305" => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => throw new ArgumentOutOfRangeException(nameof(openSslName), openSslName, "add the suite's IANA name"),
    };
}
