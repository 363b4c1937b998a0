"""The Sumsub fake: donor and recipient sides of Reusable KYC, with Sumsub's request signing and errors."""
