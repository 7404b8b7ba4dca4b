"""Bridges from careflow to other tools.

``careflow.interop.transitions``: a process as a ``transitions`` hierarchical state machine (the
reference oracle of the differential test). Submodules are imported on demand, so importing this
package pulls in no third-party library.
"""
