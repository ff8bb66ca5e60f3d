import HTTPTypes

/// The header names the service uses that HTTPTypes does not name.
extension HTTPField.Name {
    /// `Referrer-Policy`.
    static var referrerPolicy: Self { .init("Referrer-Policy")! }
    /// `X-Frame-Options` (for browsers that ignore CSP's `frame-ancestors`).
    static var xFrameOptions: Self { .init("X-Frame-Options")! }
    /// `X-RLHF-Request`, which the page's scripts send and cross-site forms cannot.
    static var xRLHFRequest: Self { .init("X-RLHF-Request")! }
}
