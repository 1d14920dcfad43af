import edfs_mcp


def test_public_names_are_pinned() -> None:
    assert edfs_mcp.__all__ == sorted(edfs_mcp.__all__)
    assert edfs_mcp.__all__ == [
        "ApiError",
        "AuthError",
        "ConfigError",
        "EdfsClient",
        "EdfsMcpError",
        "NotSent",
        "OutcomeUnknown",
        "Settings",
        "SignInRequired",
        "__version__",
        "build_server",
    ]
    for name in edfs_mcp.__all__:
        assert getattr(edfs_mcp, name) is not None
