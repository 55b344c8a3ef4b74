"""A module that does nothing: serving it measures what the server itself costs per request."""
import hubcore


class NoOp(hubcore.Module):
    @hubcore.serving(batch="text", default=True)
    def echo(self, text: list[str]) -> list[str]:
        """The texts, unchanged.

        Args:
            text: texts
        """
        return text
